"""Bad input is refused naming every field at fault at once, not a few at a time: by the
commands, by the API (one 422 with an `errors` list) and by the job form (every field
marked), and nothing is written."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI

from adapters.master_key import MasterKey
from domain.access import Principal
from domain.errors import FieldError, FieldErrors, InvalidInput, NotPermitted
from engine.capabilities import summarize
from interfaces.http.app import create_app
from interfaces.json_syntax import parse_json
from interfaces.web.forms import parse_job_form
from tests.fakes import FakeClock, in_memory_ledger
from tests.unit.test_web_session import session_csrf, sign_in

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient warns about httpx on import
    from starlette.testclient import TestClient

COMMAND = {"argv": ["echo", "hello"]}
# A bad cron, a bad time zone, bad parameters and a program the command type's schema
# refuses (argv must not be empty): four fields at fault in one job.
FOUR_BAD = {
    "schedule": {"cron": "61 * * * *", "timezone": "Mars/Olympus_Mons"},
    "parameters": ["not", "an", "object"],
    "program": {"argv": []},
}
FOUR_FIELDS = {"schedule.cron", "schedule.timezone", "parameters", "program.argv"}


@pytest.fixture
def ledger():
    app = in_memory_ledger()
    yield app
    app.close()


# The error itself.


def test_an_invalid_input_names_one_field_or_several() -> None:
    one = InvalidInput("name", "must be a non-empty string")
    assert (one.field, one.message) == ("name", "must be a non-empty string")
    assert one.errors == (FieldError("name", "must be a non-empty string"),)
    assert str(one) == "name: must be a non-empty string"
    several = InvalidInput.of([FieldError("a", "is bad"), FieldError("b", "is worse")])
    assert (several.field, several.message) == ("a", "is bad")
    assert [e.field for e in several.errors] == ["a", "b"]
    assert str(several) == "a: is bad; b: is worse"
    with pytest.raises(ValueError):
        InvalidInput.of([])


def test_collected_errors_keep_one_message_per_field_and_let_refusals_through() -> None:
    errors = FieldErrors()
    assert errors.check(lambda: 7) == 7
    assert errors.check(lambda: (_ for _ in ()).throw(InvalidInput("a", "first"))) is None
    errors.add("a", "second")
    errors.add("b", "other")
    assert errors.errors == [FieldError("a", "first"), FieldError("b", "other")]
    with pytest.raises(NotPermitted):
        errors.check(lambda: (_ for _ in ()).throw(NotPermitted("p", "not yours")))
    with pytest.raises(InvalidInput) as raised:
        errors.raise_any()
    assert [e.field for e in raised.value.errors] == ["a", "b"]
    FieldErrors().raise_any()  # nothing kept: nothing raised


# The commands.


def test_registering_names_every_bad_field_at_once_and_writes_nothing(ledger) -> None:
    before = ledger.recorder.max_notification_id()
    with pytest.raises(InvalidInput) as raised:
        ledger.register_job(
            name=" ",
            job_type="command",
            actor="alice",
            secrets={"bad-name": "x"},
            log_level="Loud",
            policies={"overlap": "sometimes", "max_retries": -1},
            **FOUR_BAD,
        )
    fields = {e.field for e in raised.value.errors}
    assert fields == FOUR_FIELDS | {"name", "secret.name", "log_level", "overlap", "max_retries"}
    assert ledger.recorder.max_notification_id() == before


def test_an_unknown_job_type_is_named_once_and_its_program_still_checked_as_json(ledger):
    with pytest.raises(InvalidInput) as raised:
        ledger.register_job(name="x", job_type="cobol", program=["not an object"], actor="alice")
    assert [e.field for e in raised.value.errors] == ["job_type", "program"]
    assert "known: " in raised.value.errors[0].message


def test_changing_names_every_bad_field_at_once_and_writes_nothing(ledger) -> None:
    job = ledger.register_job(name="Sync", job_type="command", program=COMMAND, actor="alice")
    with pytest.raises(InvalidInput) as raised:
        ledger.update_job(
            job.id,
            {"name": "Renamed", "job_type": "python", **FOUR_BAD},
            actor="bob",
            expected_version=1,
        )
    assert {e.field for e in raised.value.errors} == FOUR_FIELDS | {"job_type"}
    stored = ledger.get_job(job.id)
    assert (stored.version, stored.name) == (1, "Sync")


def test_a_schedule_with_a_bad_expression_and_a_bad_zone_names_both(ledger) -> None:
    from domain.schedule import CronSchedule

    with pytest.raises(InvalidInput) as raised:
        CronSchedule.parse("every day", "Europe/Londres")
    assert [e.field for e in raised.value.errors] == ["schedule.cron", "schedule.timezone"]
    assert "Europe/London" in raised.value.errors[1].message  # the suggestion survives


# The API.


@dataclass
class APITokens:
    def verify(self, plain: str) -> Principal | None:
        return Principal("ada", "admin", "t-admin") if plain == "jl_admin" else None

    def verify_cached(self, plain: str) -> Principal | None:
        return self.verify(plain)

    def get(self, token_id: str) -> Principal | None:
        return Principal("ada", "admin", "t-admin") if token_id == "t-admin" else None


class NoJobs:
    def get_job(self, _job_id: Any) -> None:
        return None

    def list_runs(self, **_kwargs: Any) -> tuple[list[Any], None]:
        return [], None

    def finished_runs(self, _job_id: Any, **_kwargs: Any) -> list[Any]:
        return []  # the job page's history at a glance: nothing has run


@pytest.fixture
def api(ledger) -> FastAPI:
    system = SimpleNamespace(
        app=ledger,
        master_key=MasterKey.generate(),
        jobs=NoJobs(),
        runs=NoJobs(),
        notifications=SimpleNamespace(job_triggers=lambda _job_id: [], channels=lambda: []),
        # No worker has recorded what it can run.
        job_type_availability=lambda names=(): summarize(names, []),
    )
    return create_app(system, APITokens(), clock=FakeClock(), view_wait_seconds=0)  # type: ignore[arg-type]


@pytest.fixture
def client(api: FastAPI) -> TestClient:
    return TestClient(api, base_url="http://testserver", follow_redirects=False)


ADMIN = {"Authorization": "Bearer jl_admin"}
JOB = {"name": "Nightly sync", "job_type": "command", "program": COMMAND}


def _problem_fields(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 422
    for item in body["errors"]:
        assert item["detail"] == item["message"] and item["detail"]
    return {item["field"]: item["detail"] for item in body["errors"]}


@pytest.mark.parametrize(
    "parameters",
    [
        {"blob": "x" * 70_000},  # an object the domain refuses (too large)
        ["not", "an", "object"],  # not an object: the request schema refuses it
        "{'single': 'quotes'}",
    ],
)
def test_the_api_names_all_four_bad_fields_in_one_422_and_writes_nothing(
    ledger, client: TestClient, parameters: Any
) -> None:
    before = ledger.recorder.max_notification_id()
    body = {**JOB, **FOUR_BAD, "parameters": parameters}
    fields = _problem_fields(client.post("/api/jobs", json=body, headers=ADMIN))
    assert set(fields) == FOUR_FIELDS
    assert "Mars/Olympus_Mons" in fields["schedule.timezone"]
    assert (
        client.post("/api/jobs", json=body, headers=ADMIN)
        .json()["detail"]
        .startswith("4 fields are invalid")
    )
    assert ledger.recorder.max_notification_id() == before


def test_a_patch_names_all_four_bad_fields_in_one_422_and_writes_nothing(
    ledger, client: TestClient
) -> None:
    job = ledger.register_job(name="Sync", job_type="command", program=COMMAND, actor="alice")
    before = ledger.recorder.max_notification_id()
    for parameters in ({"blob": "x" * 70_000}, 42):
        body = {**FOUR_BAD, "parameters": parameters, "name": "Renamed"}
        response = client.patch(f"/api/jobs/{job.id}", json=body, headers=ADMIN)
        assert set(_problem_fields(response)) == FOUR_FIELDS
    assert ledger.recorder.max_notification_id() == before
    assert ledger.get_job(job.id).name == "Sync"


def test_a_bad_secret_is_named_with_the_other_bad_fields(ledger, client: TestClient) -> None:
    body = {**JOB, "secrets": {"API_KEY": "v", "bad-name": "v"}, "log_level": "Info"}
    body["schedule"] = {"cron": "0 2 * * *", "timezone": "Nowhere/Town"}
    fields = _problem_fields(client.post("/api/jobs", json=body, headers=ADMIN))
    assert set(fields) == {"secrets", "schedule.timezone"}
    assert "letters" in fields["secrets"]
    assert ledger.recorder.max_notification_id() in (None, 0)


def test_one_bad_field_still_reads_as_before(client: TestClient) -> None:
    response = client.post("/api/jobs", json={**JOB, "program": {"argv": []}}, headers=ADMIN)
    body = response.json()
    assert response.status_code == 422
    assert body["field"] == "program.argv"
    assert body["detail"].startswith("program.argv: ")
    assert [e["field"] for e in body["errors"]] == ["program.argv"]


# The job form.


def _form(**fields: str) -> dict[str, str]:
    form = {
        "name": "Nightly sync",
        "job_type": "command",
        "program": '{"argv": ["true"]}',
        "parameters": "{}",
        "log_level": "Info",
        "cron": "",
        "timezone": "UTC",
    }
    form.update(fields)
    return form


BAD_FORM = {
    "cron": "61 * * * *",
    "timezone": "Mars/Olympus_Mons",
    "parameters": '{\n  "tenant": "acme",\n  "region": \n}',
    "program": '{"argv": []}',
}


def test_the_new_job_page_marks_every_bad_field_at_once_and_writes_nothing(
    ledger, api: FastAPI
) -> None:
    web = TestClient(api, base_url="http://testserver", follow_redirects=False)
    sign_in(web)
    form = {**_form(**BAD_FORM), "csrf_token": session_csrf(web, api)}
    before = ledger.recorder.max_notification_id()
    page = web.post("/jobs/new", data=form)
    assert page.status_code == 422, page.text
    for field in ("cron", "timezone", "parameters", "program"):
        assert f'id="{field}-error"' in page.text, field
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', page.text), field
    assert "program.argv: " in page.text
    assert ledger.recorder.max_notification_id() == before


def test_the_job_page_marks_every_bad_field_of_a_change_at_once(ledger, api: FastAPI) -> None:
    job = ledger.register_job(name="Sync", job_type="command", program=COMMAND, actor="alice")

    class OneJob(NoJobs):
        def get_job(self, job_id: Any) -> dict[str, Any] | None:
            if job_id != job.id:
                return None
            return {
                **job.configuration(),
                "secrets": [],
                "policies": job.policies,
                "updated_at": job.modified_on,
                "updated_by": "alice",
            }

    api.state.system.jobs = OneJob()
    web = TestClient(api, base_url="http://testserver", follow_redirects=False)
    sign_in(web)
    form = {**_form(**BAD_FORM), "version": "1", "csrf_token": session_csrf(web, api)}
    page = web.post(f"/jobs/{job.id}", data=form)
    assert page.status_code == 422, page.text
    for field in ("cron", "timezone", "parameters", "program"):
        assert f'id="{field}-error"' in page.text, field
    assert ledger.get_job(job.id).version == 1


def test_a_json_editor_error_says_which_field_where_and_what() -> None:
    parsed = parse_job_form(_form(parameters='{\n  "a": 1,\n    b: 2\n}'), new=True)
    assert parsed.errors.by_field["parameters"] == (
        "parameters: not valid JSON at line 3, column 5: expected a property name in double quotes"
    )
    parsed = parse_job_form(_form(program='{"argv": ["a" "b"]}'), new=True)
    assert parsed.errors.by_field["program"] == (
        "program: not valid JSON at line 1, column 15: expected a comma between two items"
    )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"a": }', "line 1, column 7: expected a value"),
        ('{"a": "b"} x', "line 1, column 12: more text follows"),
        ('{"a": "b\n"}', "line 1, column 9: a line break or tab"),
        ('{"a": "b', "line 1, column 7: a string starts here"),
    ],
)
def test_json_syntax_errors_say_where_in_words(text: str, where: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_json(text, "parameters")
    assert raised.value.field == "parameters"
    assert raised.value.message.startswith("not valid JSON at " + where)


def test_the_schedule_preview_names_both_a_bad_expression_and_a_bad_zone(
    client: TestClient,
) -> None:
    body = {"cron": "61 * * * *", "timezone": "Mars/Olympus_Mons"}
    response = client.post("/api/schedules/preview", json=body, headers=ADMIN)
    assert list(_problem_fields(response)) == ["cron", "timezone"]


def test_the_command_line_prints_every_field_at_fault(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from interfaces.cli import main as cli

    def refuse(_args: argparse.Namespace) -> int:
        raise InvalidInput.of([FieldError("schedule.cron", "is bad"), FieldError("name", "too")])

    refusing = argparse.ArgumentParser()
    refusing.set_defaults(handler=refuse)
    monkeypatch.setattr(cli, "parser", lambda: refusing)
    assert cli.main([]) == cli.EXIT_USAGE
    assert capsys.readouterr().err.splitlines() == [
        "jobledger: invalid schedule.cron: is bad",
        "jobledger: invalid name: too",
    ]
