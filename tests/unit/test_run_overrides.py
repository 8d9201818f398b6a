"""Run-now parameter overrides: operators change only what the job opens to them, and no one
but an administrator may point an HTTP job's request (and its secrets) at another host."""

from __future__ import annotations

import pytest

from domain.errors import NotPermitted
from tests.fakes import in_memory_ledger


@pytest.fixture
def app():
    ledger = in_memory_ledger()
    yield ledger
    ledger.close()


def http_job(app, **policies):
    return app.register_job(
        name="Tickets",
        job_type="http",
        program={
            "method": "POST",
            "url": "{{parameters.base|raw}}/api/tickets?page={{parameters.page}}",
            "headers": {"Authorization": "Bearer {{secrets.TOKEN}}"},
        },
        actor="alice",
        parameters={"base": "https://psa.example.com", "page": 1},
        policies=policies,
    )


def runs_of(app, job_id) -> int:
    return sum(
        1 for n in app.recorder.select_notifications(start=1, limit=1000) if "Run" in n.topic
    )


def test_an_operator_may_not_override_a_parameter_the_job_does_not_open(app):
    job = http_job(app)
    with pytest.raises(NotPermitted) as refused:
        app.request_run(job.id, actor="token:night", parameters={"base": "http://attacker/"})
    assert refused.value.field == "parameters.base"
    assert "attacker" not in str(refused.value)  # a refusal never echoes the value
    assert runs_of(app, job.id) == 0  # nothing requested, nothing run


def test_an_operator_may_override_what_the_job_opens_but_never_the_host(app):
    job = http_job(app, overridable_parameters=["page", "base"])
    run = app.request_run(job.id, actor="token:night", parameters={"page": 7})
    assert run.parameters == {"base": "https://psa.example.com", "page": 7}
    same_host = app.request_run(
        job.id, actor="token:night", parameters={"base": "https://PSA.example.com:443"}
    )
    assert same_host.parameters["base"] == "https://PSA.example.com:443"
    for elsewhere in ("http://attacker/", "https://psa.example.com:8443", "http://psa.example.com"):
        with pytest.raises(NotPermitted) as refused:
            app.request_run(job.id, actor="token:night", parameters={"base": elsewhere})
        assert refused.value.field == "parameters.base"


def test_an_administrator_may_override_any_parameter(app):
    job = http_job(app)
    run = app.request_run(
        job.id, actor="token:root", parameters={"base": "https://staging.example.com"},
        override_any=True,
    )  # fmt: skip
    assert run.parameters["base"] == "https://staging.example.com"


def test_overridable_parameters_are_part_of_the_jobs_configuration(app):
    job = http_job(app, overridable_parameters=["page", "page"])
    assert job.policies["overridable_parameters"] == ["page"]
    with pytest.raises(Exception) as refused:
        http_job(app, overridable_parameters="page")
    assert getattr(refused.value, "field", "") == "overridable_parameters"
