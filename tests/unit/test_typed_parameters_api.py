"""Typed parameters over the HTTP API, without a server: `parameters_schema` on register,
change and show; a 422 naming each parameter at fault (the job's own on save, an override at
run now, a webhook's body), and nothing written when refused."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from fastapi import FastAPI

from tests.unit.test_all_field_errors import ADMIN, _problem_fields
from tests.unit.test_all_field_errors import api as api  # noqa: F401  (fixtures)
from tests.unit.test_all_field_errors import ledger as ledger  # noqa: F401
from tests.unit.test_typed_parameters import SCHEMA

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient warns about httpx on import
    from starlette.testclient import TestClient

JOB: dict[str, Any] = {
    "name": "Import",
    "job_type": "command",
    "program": {"argv": ["true"]},
    "parameters": {"label": "nightly"},
    "parameters_schema": SCHEMA,
    "overridable_parameters": ["batch_size", "mode", "dry_run", "label", "ratio"],
}


@pytest.fixture
def client(api: FastAPI) -> TestClient:  # noqa: F811
    return TestClient(api, base_url="http://testserver", follow_redirects=False)


def written(ledger: Any) -> int:  # noqa: F811
    return ledger.recorder.max_notification_id() or 0


def test_a_job_is_registered_and_shown_with_its_schema(client: TestClient) -> None:
    response = client.post("/api/jobs", json=JOB, headers=ADMIN)
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["parameters_schema"] == SCHEMA and job["parameters"] == {"label": "nightly"}
    plain = client.post("/api/jobs", json={**JOB, "name": "Plain", "parameters_schema": None})
    assert plain.status_code == 401  # no token: refused before anything
    free = {key: value for key, value in JOB.items() if key != "parameters_schema"}
    response = client.post("/api/jobs", json={**free, "name": "Free"}, headers=ADMIN)
    assert response.json()["parameters_schema"] is None


def test_a_schema_outside_the_subset_is_a_422_naming_it_and_writes_nothing(
    ledger: Any,  # noqa: F811
    client: TestClient,
) -> None:
    schema = {"type": "object", "properties": {"tags": {"type": "array"}, "n": {"type": 3}}}
    fields = _problem_fields(
        client.post("/api/jobs", json={**JOB, "parameters_schema": schema}, headers=ADMIN)
    )
    assert set(fields) == {"parameters_schema.properties.n.type"}  # not JSON Schema at all
    schema = {
        "type": "object",
        "properties": {"tags": {"type": "array"}},
        "anyOf": [{"required": ["tags"]}],
    }
    fields = _problem_fields(
        client.post("/api/jobs", json={**JOB, "parameters_schema": schema}, headers=ADMIN)
    )
    assert set(fields) == {"parameters_schema.anyOf", "parameters_schema.properties.tags.type"}
    assert written(ledger) == 0


def test_the_jobs_own_parameters_are_a_422_naming_each_one(
    ledger: Any,  # noqa: F811
    client: TestClient,
) -> None:
    body = {**JOB, "parameters": {"batch_size": "ten", "mode": "all"}}
    fields = _problem_fields(client.post("/api/jobs", json=body, headers=ADMIN))
    assert fields == {
        "parameters.batch_size": "must be a whole number",
        "parameters.mode": 'must be one of "full", "delta"',
        "parameters.label": "is required",
    }
    assert written(ledger) == 0


def test_a_patch_checks_the_parameters_against_the_new_schema_and_null_removes_it(
    ledger: Any,  # noqa: F811
    client: TestClient,
) -> None:
    job = client.post("/api/jobs", json=JOB, headers=ADMIN).json()
    before = written(ledger)
    stricter = {**SCHEMA, "required": ["label", "ratio"]}
    response = client.patch(
        f"/api/jobs/{job['id']}", json={"parameters_schema": stricter}, headers=ADMIN
    )
    assert _problem_fields(response) == {"parameters.ratio": "is required"}
    assert written(ledger) == before
    response = client.patch(
        f"/api/jobs/{job['id']}", json={"parameters_schema": None}, headers=ADMIN
    )
    assert response.status_code == 200 and response.json()["parameters_schema"] is None


def test_run_now_overrides_are_a_422_naming_each_parameter_and_nothing_runs(
    ledger: Any,  # noqa: F811
    client: TestClient,
) -> None:
    job = client.post("/api/jobs", json=JOB, headers=ADMIN).json()
    before = written(ledger)
    response = client.post(
        f"/api/jobs/{job['id']}/runs",
        json={"parameters": {"batch_size": 0, "dry_run": "no", "mode": "full"}},
        headers=ADMIN,
    )
    assert _problem_fields(response) == {
        "parameters.batch_size": "must be at least 1",
        "parameters.dry_run": "must be true or false",
    }
    assert written(ledger) == before
    response = client.post(
        f"/api/jobs/{job['id']}/runs", json={"parameters": {"batch_size": 5}}, headers=ADMIN
    )
    assert response.status_code == 202
    run = ledger.get_run(response.json()["run_id"])
    assert run.parameters == {
        "batch_size": 5,
        "mode": "delta",
        "dry_run": False,
        "label": "nightly",
    }


def test_a_webhook_body_is_a_422_naming_the_parameter(
    ledger: Any,  # noqa: F811
    client: TestClient,
) -> None:
    job = client.post("/api/jobs", json=JOB, headers=ADMIN).json()
    trigger, token = ledger.create_trigger(job["id"], "ci", actor="ada")
    response = client.post(
        f"/hooks/{trigger.id}",
        json={"ratio": 2},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert _problem_fields(response) == {"body.ratio": "must be at most 1"}
    assert not [
        n
        for n in ledger.recorder.select_notifications(start=1, limit=1000)
        if n.topic.endswith("Run.Requested")
    ]
