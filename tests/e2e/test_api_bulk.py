"""Bulk actions over the API: many jobs enabled, disabled, run or deleted, and many runs
cancelled, in one request; one result per id, each change its own event with the actor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from adapters.event_store_config import StoreSettings
from application.bulk_commands import MAX_IDS
from interfaces.bootstrap import build, build_token_store
from interfaces.http.app import create_app
from interfaces.http.server import BackgroundServer
from interfaces.settings import Settings
from tests.e2e.test_api import Api


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    store = StoreSettings(kind="sqlite", sqlite_path=tmp_path / "data" / "jobledger.sqlite3")
    settings = Settings(store=store, data_dir=tmp_path / "data", master_key=None)
    system = build(settings, announce=lambda _message: None)
    tokens = build_token_store(settings)
    plain = {role: tokens.create(role, role)[1] for role in ("admin", "operator", "viewer")}
    system.start_projections()
    server = BackgroundServer(create_app(system, tokens), port=0).start()
    made = Api(system, server, plain, tokens)
    try:
        yield made
    finally:
        made.close()
        server.stop()
        tokens.close()
        system.close()


def jobs(api: Api, count: int) -> list[str]:
    return [
        api.create_job(name=f"bulk {n} {uuid4().hex[:6]}", secrets={}, schedule=None)["id"]
        for n in range(count)
    ]


def results_by_id(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in body["results"]}


def test_many_jobs_are_disabled_then_enabled_each_with_its_own_event(api: Api) -> None:
    ids = jobs(api, 3)
    response = api.admin.post("/api/jobs/bulk", json={"action": "disable", "job_ids": ids})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["action"] == "disable" and body["succeeded"] == 3 and body["failed"] == 0
    assert [item["id"] for item in body["results"]] == ids
    assert all(item["ok"] and item["status"] == 200 for item in body["results"])
    for job_id in ids:
        job = api.viewer.get(f"/api/jobs/{job_id}").json()
        assert job["enabled"] is False and job["updated_by"] == "token:admin"
        history = api.viewer.get(f"/api/jobs/{job_id}/history").json()["items"]
        assert history[-1]["actor"] == "token:admin"
    enabled = api.admin.post("/api/jobs/bulk", json={"action": "enable", "job_ids": ids})
    assert enabled.json()["succeeded"] == 3
    assert all(api.viewer.get(f"/api/jobs/{i}").json()["enabled"] for i in ids)


def test_one_unknown_job_is_a_404_result_and_does_not_stop_the_others(api: Api) -> None:
    ids = jobs(api, 2)
    unknown = str(uuid4())
    response = api.admin.post(
        "/api/jobs/bulk", json={"action": "delete", "job_ids": [ids[0], unknown, ids[1], ids[0]]}
    )
    assert response.status_code == 200
    body = response.json()
    # A job named twice is acted on once.
    assert [item["id"] for item in body["results"]] == [ids[0], unknown, ids[1]]
    found = results_by_id(body)
    assert found[unknown] == {
        "id": unknown,
        "ok": False,
        "status": 404,
        "detail": f"job {unknown} not found",
        "run_id": None,
    }
    assert found[ids[0]]["ok"] and found[ids[1]]["ok"]
    assert body["succeeded"] == 2 and body["failed"] == 1
    for job_id in ids:
        assert api.viewer.get(f"/api/jobs/{job_id}").status_code == 404


def test_an_operator_runs_many_jobs_now_but_may_not_disable_them(api: Api) -> None:
    ids = jobs(api, 2)
    refused = api.operator.post("/api/jobs/bulk", json={"action": "disable", "job_ids": ids})
    assert refused.status_code == 403
    assert "admin" in refused.json()["detail"]
    assert all(api.viewer.get(f"/api/jobs/{i}").json()["enabled"] for i in ids)
    assert (
        api.viewer.post("/api/jobs/bulk", json={"action": "run", "job_ids": ids}).status_code == 403
    )
    ran = api.operator.post("/api/jobs/bulk", json={"action": "run", "job_ids": ids})
    assert ran.status_code == 200, ran.text
    for item in ran.json()["results"]:
        assert item["ok"] and item["status"] == 202
        run = api.viewer.get(f"/api/runs/{item['run_id']}").json()
        assert run["job_id"] == item["id"] and run["requested_by"] == "token:operator"


def test_many_runs_are_cancelled_and_a_finished_one_is_a_409_result(api: Api) -> None:
    job_id = jobs(api, 1)[0]
    run_ids = [
        api.operator.post(f"/api/jobs/{job_id}/runs", json={}).json()["run_id"] for _ in range(3)
    ]
    assert api.operator.post(f"/api/runs/{run_ids[0]}/cancel").status_code == 202
    response = api.operator.post("/api/runs/bulk-cancel", json={"run_ids": run_ids})
    assert response.status_code == 200, response.text
    body = response.json()
    found = results_by_id(body)
    assert found[run_ids[0]]["status"] == 409 and not found[run_ids[0]]["ok"]
    assert "cancelled" in found[run_ids[0]]["detail"]
    assert [found[r]["status"] for r in run_ids[1:]] == [202, 202]
    for run_id in run_ids:
        run = api.viewer.get(f"/api/runs/{run_id}").json()
        assert run["status"] == "cancelled" and run["cancel_requested_by"] == "token:operator"
    assert api.viewer.post("/api/runs/bulk-cancel", json={"run_ids": run_ids}).status_code == 403


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/jobs/bulk", {"action": "run", "job_ids": []}, "job_ids"),
        ("/api/jobs/bulk", {"action": "rename", "job_ids": [str(uuid4())]}, "action"),
        ("/api/jobs/bulk", {"action": "run", "job_ids": ["not-an-id"]}, "job_ids[0]"),
        (
            "/api/jobs/bulk",
            {"action": "run", "job_ids": [str(uuid4()) for _ in range(MAX_IDS + 1)]},
            "job_ids",
        ),
        ("/api/runs/bulk-cancel", {"run_ids": [str(uuid4())] * (MAX_IDS + 1)}, "run_ids"),
        ("/api/runs/bulk-cancel", {}, "run_ids"),
    ],
)
def test_a_bad_list_is_a_422_naming_the_field(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    response = api.admin.post(path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
