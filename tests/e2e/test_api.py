"""The HTTP API as a client sees it: a real server (uvicorn on a free port) over a real
System (SQLite in a temporary folder, or a fresh PostgreSQL schema), with the projections
following in the background, spoken to over real HTTP.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from adapters.event_store_config import StoreSettings, parse_database_url
from domain.log_level import LogLevel
from domain.schedule import CronSchedule
from interfaces.bootstrap import System, build, build_token_store
from interfaces.http.app import create_app
from interfaces.http.server import BackgroundServer
from interfaces.settings import Settings

SECRET = "s3cr3t-value-9f1c-never-in-a-response"
OTHER_SECRET = "another-secret-77ab-never-shown"
JOB = {
    "name": "Invoice sync",
    "description": "Nightly PSA sync",
    "job_type": "command",
    "program": {"argv": ["python3", "sync.py"]},
    "parameters": {"tenant": "acme", "batch": 50},
    "secrets": {"API_KEY": SECRET},
    "schedule": {"cron": "0 2 * * *", "timezone": "Europe/London"},
    "log_level": "Warning",
}


class Api:
    """A running API and a client per role; every response body is kept for secret checks."""

    def __init__(
        self, system: System, server: BackgroundServer, tokens: dict[str, str], store: Any
    ):
        self.system = system
        self.token_store = store
        self.server = server
        self.tokens = tokens
        self.bodies: list[str] = []
        self.clients = {
            role: httpx.Client(
                base_url=server.url,
                headers={"Authorization": f"Bearer {token}"},
                event_hooks={"response": [self._keep]},
                timeout=30,
            )
            for role, token in tokens.items()
        }
        self.anonymous = httpx.Client(base_url=server.url, timeout=30)

    def _keep(self, response: httpx.Response) -> None:
        headers = json.dumps(dict(response.headers))
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            self.bodies.append(headers)  # read by the test itself, line by line
            return
        response.read()
        self.bodies.append(response.text + headers)

    def __getattr__(self, role: str) -> httpx.Client:
        return self.clients[role]

    def close(self) -> None:
        for client in (*self.clients.values(), self.anonymous):
            client.close()

    def create_job(self, **changes: Any) -> dict[str, Any]:
        response = self.admin.post("/api/jobs", json={**JOB, **changes})
        assert response.status_code == 201, response.text
        return response.json()

    def position(self) -> int:
        return self.system.app.recorder.max_notification_id() or 0


class ApiContract:
    @pytest.fixture
    def store(self, tmp_path: Path) -> StoreSettings:
        raise NotImplementedError

    @pytest.fixture
    def api(self, store: StoreSettings, tmp_path: Path) -> Iterator[Api]:
        settings = Settings(store=store, data_dir=tmp_path / "data", master_key=None)
        system = build(settings, announce=lambda _message: None)
        tokens = build_token_store(settings)
        plain = {role: tokens.create(role, role)[1] for role in ("admin", "operator", "viewer")}
        system.start_projections()
        server = BackgroundServer(create_app(system, tokens), port=0).start()
        api = Api(system, server, plain, tokens)
        try:
            yield api
        finally:
            api.close()
            server.stop()
            tokens.close()
            system.close()
            for body in api.bodies:
                assert SECRET not in body and OTHER_SECRET not in body

    def test_a_job_is_created_shown_listed_and_its_secrets_appear_by_name_only(self, api: Api):
        response = api.admin.post("/api/jobs", json=JOB)
        assert response.status_code == 201
        job = response.json()
        assert response.headers["Location"] == f"/api/jobs/{job['id']}"
        assert response.headers["ETag"] == f'"{job["version"]}"'
        assert job["version"] == 2  # registered, then its secret stored
        assert job["name"] == "Invoice sync" and job["parameters"] == JOB["parameters"]
        assert job["schedule"] == JOB["schedule"]
        assert job["schedule_description"] == "at 02:00 every day"
        assert job["log_level"] == "Warning" and job["enabled"] is True
        assert job["overlap"] == "skip" and job["misfire"] == "run_once"
        assert [s["name"] for s in job["secrets"]] == ["API_KEY"]
        assert job["secrets"][0]["updated_by"] == "token:admin"
        assert job["created_by"] == job["updated_by"] == "token:admin"
        assert job["last_run"] is None and job["deleted"] is False
        # next_run_at: the schedule's next fire time after now, computed on read.
        next_run = datetime.fromisoformat(job["next_run_at"])
        schedule = CronSchedule.parse("0 2 * * *", "Europe/London")
        assert next_run == schedule.next_fire_time(next_run - timedelta(hours=23))
        assert next_run > datetime.now(UTC)
        # Read your writes: the views show it at once.
        shown = api.viewer.get(f"/api/jobs/{job['id']}")
        assert shown.status_code == 200 and shown.json() == job
        page = api.viewer.get("/api/jobs").json()
        assert page == {"items": [job], "next_cursor": None}
        # Disabled: no next run.
        disabled = api.admin.post(f"/api/jobs/{job['id']}/disable").json()
        assert disabled["enabled"] is False and disabled["next_run_at"] is None
        enabled = api.admin.post(f"/api/jobs/{job['id']}/enable").json()
        assert enabled["enabled"] is True and enabled["version"] == 4

    def test_listing_pages_and_filters(self, api: Api):
        for i in range(5):
            api.create_job(name=f"job {i}", enabled=i % 2 == 0, secrets={})
        api.create_job(name="other", job_type="python", program={"callable": "m:f"}, secrets={})
        first = api.viewer.get("/api/jobs", params={"limit": 2}).json()
        assert [j["name"] for j in first["items"]] == ["job 0", "job 1"]
        second = api.viewer.get("/api/jobs", params={"limit": 2, "cursor": first["next_cursor"]})
        assert [j["name"] for j in second.json()["items"]] == ["job 2", "job 3"]
        enabled = api.viewer.get("/api/jobs", params={"enabled": "false"}).json()["items"]
        assert [j["name"] for j in enabled] == ["job 1", "job 3"]
        python = api.viewer.get("/api/jobs", params={"job_type": "python"}).json()["items"]
        assert [j["name"] for j in python] == ["other"]
        prefixed = api.viewer.get("/api/jobs", params={"name_prefix": "job "}).json()["items"]
        assert len(prefixed) == 5
        bad = api.viewer.get("/api/jobs", params={"cursor": "bm90LWEtY3Vyc29y"})
        assert bad.status_code == 422 and bad.json()["field"] == "cursor"

    def test_q_searches_name_and_description_ignoring_case(self, api: Api):
        api.create_job(name="Invoice sync", secrets={})
        api.create_job(name="Backup", description="copies the INVOICE archive", secrets={})
        api.create_job(name="Payroll", secrets={})

        def found(**params: Any) -> list[str]:
            response = api.viewer.get("/api/jobs", params=params)
            assert response.status_code == 200, response.text
            return [j["name"] for j in response.json()["items"]]

        assert found(q="invoice") == found(q=" INVOICE ") == ["Backup", "Invoice sync"]
        assert found(q="voice s") == ["Invoice sync"]
        assert found(q="invoice", limit=1) == ["Backup"]
        assert found(q="") == ["Backup", "Invoice sync", "Payroll"]
        # The older filter still works as it did: a case-sensitive prefix of the name.
        assert found(name_prefix="Inv") == ["Invoice sync"] and found(name_prefix="inv") == []
        bad = api.viewer.get("/api/jobs", params={"q": "x" * 201})
        assert bad.status_code == 422 and bad.json()["field"] == "q"

    def test_jobs_in_folders_with_tags_are_filtered_and_sorted(self, api: Api):
        from application.run_commands import Ending, RunEnding

        contoso = api.create_job(
            name="Contoso sync", folder="Customers/Contoso", tags=["billing"], secrets={}
        )
        eu = api.create_job(
            name="Contoso EU", folder="Customers/Contoso/EU", tags=["billing", "eu"], secrets={}
        )
        api.create_job(name="Backup", folder="Internal", secrets={})
        api.create_job(name="Payroll", job_type="python", program={"callable": "m:f"}, secrets={})
        assert (contoso["folder"], contoso["tags"]) == ("Customers/Contoso", ["billing"])
        app = api.system.app
        failed = api.operator.post(f"/api/jobs/{contoso['id']}/runs").json()["run_id"]
        run = app.start_run(UUID(failed), worker="w1")
        app.end_runs([RunEnding(run, Ending.FAILED, exit_code=1)], retry_now=datetime.now(UTC))
        api.operator.post(f"/api/jobs/{eu['id']}/runs")
        api.system.follower.wait_until(api.position(), timeout=10)

        def found(**params: Any) -> list[str]:
            response = api.viewer.get("/api/jobs", params=params)
            assert response.status_code == 200, response.text
            return [j["name"] for j in response.json()["items"]]

        assert found(folder="Customers/Contoso") == ["Contoso EU", "Contoso sync"]
        assert found(folder="Customers/Contoso/EU") == ["Contoso EU"]
        assert found(tag="billing") == ["Contoso EU", "Contoso sync"]
        assert found(tag=["billing", "eu"]) == ["Contoso EU"]
        assert found(status="failed") == ["Contoso sync"]
        assert found(type="python") == ["Payroll"] and found(type="command", q="contoso eu") == [
            "Contoso EU"
        ]
        every = {"folder": "Customers", "tag": "billing", "q": "SYNC", "status": "failed"}
        assert found(**every, enabled="true", type="command") == ["Contoso sync"]
        assert found(**every, enabled="false") == []
        by_last_run = found(sort="last_run")  # newest first; never run last
        assert by_last_run[:2] == ["Contoso EU", "Contoso sync"]
        assert set(by_last_run[2:]) == {"Backup", "Payroll"}
        first = api.viewer.get("/api/jobs", params={"sort": "last_run", "limit": 1}).json()
        rest = api.viewer.get(
            "/api/jobs", params={"sort": "last_run", "cursor": first["next_cursor"]}
        ).json()
        assert [j["name"] for j in first["items"] + rest["items"]][:2] == [
            "Contoso EU",
            "Contoso sync",
        ]
        assert len(first["items"] + rest["items"]) == 4
        assert found(sort="last_status")[:2] == ["Backup", "Payroll"]  # never run: first
        moved = api.admin.patch(
            f"/api/jobs/{contoso['id']}", json={"folder": "Customers/Fabrikam", "tags": []}
        )
        assert moved.status_code == 200, moved.text
        assert (moved.json()["folder"], moved.json()["tags"]) == ("Customers/Fabrikam", [])
        assert found(folder="Customers/Contoso") == ["Contoso EU"]
        bad = api.admin.patch(
            f"/api/jobs/{contoso['id']}", json={"folder": "a//b", "tags": ["x y"]}
        )
        assert bad.status_code == 422
        assert {e["field"] for e in bad.json()["errors"]} == {"folder", "tags[0]"}
        for params, field in (
            ({"folder": "/x"}, "folder"),
            ({"tag": "a b"}, "tags[0]"),
            ({"sort": "colour"}, "sort"),
            ({"status": "sleepy"}, "status"),
        ):
            refused = api.viewer.get("/api/jobs", params=params)
            assert refused.status_code == 422 and refused.json()["field"] == field, params
        history = api.viewer.get(f"/api/jobs/{contoso['id']}/history").json()["items"]
        assert history[-2]["changes"] == {
            "folder": {"from": "Customers/Contoso", "to": "Customers/Fabrikam"}
        }

    def test_a_job_is_cloned_without_its_secrets_and_a_run_is_rerun(self, api: Api):
        job = api.create_job(folder="Customers/Contoso", tags=["billing"])  # holds API_KEY
        cloned = api.admin.post(f"/api/jobs/{job['id']}/clone", json={"name": "Fabrikam sync"})
        assert cloned.status_code == 201, cloned.text
        body = cloned.json()
        assert body["secrets_to_set"] == ["API_KEY"]
        clone = body["job"]
        assert cloned.headers["location"] == f"/api/jobs/{clone['id']}"
        assert clone["secrets"] == [] and clone["enabled"] is False
        for key in ("program", "parameters", "schedule", "log_level", "folder", "tags"):
            assert clone[key] == job[key], key
        assert api.viewer.get(f"/api/jobs/{clone['id']}").json()["name"] == "Fabrikam sync"
        taken = api.admin.post(f"/api/jobs/{job['id']}/clone", json={"name": "invoice SYNC"})
        assert taken.status_code == 409
        assert (
            api.operator.post(f"/api/jobs/{job['id']}/clone", json={"name": "x"}).status_code == 403
        )
        assert api.admin.post(f"/api/jobs/{uuid4()}/clone", json={"name": "y"}).status_code == 404

        first = api.operator.post(f"/api/jobs/{job['id']}/runs").json()["run_id"]
        rerun = api.operator.post(f"/api/runs/{first}/rerun")
        assert rerun.status_code == 202, rerun.text
        again = api.viewer.get(f"/api/runs/{rerun.json()['run_id']}").json()
        assert (again["trigger"], again["rerun_of"], again["requested_by"]) == (
            "rerun",
            first,
            "token:operator",
        )
        assert again["parameters"] == JOB["parameters"]
        assert api.viewer.post(f"/api/runs/{first}/rerun").status_code == 403
        assert api.operator.post(f"/api/runs/{uuid4()}/rerun").status_code == 404
        api.admin.patch(f"/api/jobs/{job['id']}", json={"parameters": {"tenant": "globex"}})
        refused = api.operator.post(f"/api/runs/{first}/rerun")
        assert refused.status_code == 403 and refused.json()["field"] == "parameters.batch"
        by_admin = api.admin.post(f"/api/runs/{first}/rerun")
        assert by_admin.status_code == 202
        api.system.follower.wait_until(api.position(), timeout=10)
        audited = api.viewer.get("/api/audit", params={"action": "run.requested"}).json()["items"]
        reruns = [a for a in audited if a["details"].get("trigger") == "rerun"]
        assert [a["actor"] for a in reruns] == ["token:admin", "token:operator"]
        assert {a["details"]["rerun_of"] for a in reruns} == {first}

    def test_patch_records_each_change_and_refuses_a_stale_version(self, api: Api):
        job = api.create_job()
        url = f"/api/jobs/{job['id']}"
        changed = api.admin.patch(
            url,
            json={"name": "Invoice sync v2", "log_level": "Debug", "max_retries": 3},
            headers={"If-Match": f'"{job["version"]}"'},
        )
        assert changed.status_code == 200, changed.text
        body = changed.json()
        assert body["version"] == job["version"] + 3
        assert (body["name"], body["log_level"], body["max_retries"]) == (
            "Invoice sync v2",
            "Debug",
            3,
        )
        assert changed.headers["ETag"] == f'"{body["version"]}"'
        before = api.position()
        stale = api.admin.patch(url, json={"name": "lost"}, headers={"If-Match": "2"})
        assert stale.status_code == 409
        assert stale.headers["content-type"] == "application/problem+json"
        assert stale.json()["current_version"] == body["version"]
        assert api.position() == before  # nothing written
        assert api.viewer.get(url).json()["name"] == "Invoice sync v2"
        history = api.viewer.get(f"{url}/history").json()["items"]
        events = [(h["version"], h["event"]) for h in history]
        assert events == [
            (1, "Registered"),
            (2, "SecretStored"),
            (3, "Renamed"),
            (4, "LogLevelChanged"),
            (5, "PoliciesChanged"),
        ]
        assert history[2]["changes"] == {"name": {"from": "Invoice sync", "to": "Invoice sync v2"}}
        assert history[1]["changes"] == {"secrets.API_KEY": {"from": None, "to": "(set)"}}
        assert all(h["actor"] == "token:admin" for h in history)
        # An If-Match list applies when any of its versions is the current one (RFC 9110).
        before = api.position()
        stale_list = api.admin.patch(url, json={"name": "lost"}, headers={"If-Match": '"1", "2"'})
        assert stale_list.status_code == 409
        assert stale_list.json()["current_version"] == body["version"]
        assert api.position() == before
        listed = api.admin.patch(
            url, json={"description": "listed"}, headers={"If-Match": f'"1", "{body["version"]}"'}
        )
        assert listed.status_code == 200, listed.text
        assert listed.json()["version"] == body["version"] + 1
        # Unschedule with null, with no If-Match: unconditional; a field that cannot change is
        # refused by name.
        assert api.admin.patch(url, json={"schedule": None}).json()["schedule"] is None
        refused = api.admin.patch(url, json={"job_type": "python"})
        assert refused.status_code == 422 and refused.json()["field"] == "job_type"

    def test_the_job_as_it_was_at_a_past_time(self, api: Api):
        job = api.create_job(secrets={})
        url = f"/api/jobs/{job['id']}"
        history = api.viewer.get(f"{url}/history").json()["items"]
        registered_at = history[0]["at"]
        api.admin.patch(url, json={"name": "renamed", "parameters": {"tenant": "globex"}})
        then = api.viewer.get(url, params={"as_of": registered_at})
        assert then.status_code == 200
        old = then.json()
        assert old["version"] == 1 and old["name"] == "Invoice sync"
        assert old["parameters"] == JOB["parameters"] and old["next_run_at"] is None
        assert api.viewer.get(url).json()["name"] == "renamed"
        before = api.viewer.get(url, params={"as_of": "2000-01-01T00:00:00Z"})
        assert before.status_code == 422 and before.json()["field"] == "as_of"
        naive = api.viewer.get(url, params={"as_of": "2026-01-01T00:00:00"})
        assert naive.status_code == 422 and naive.json()["field"] == "as_of"
        # A deleted job is gone now, but its past is still there.
        assert api.admin.delete(url).status_code == 204
        assert api.viewer.get(url).status_code == 404
        assert api.viewer.get(url, params={"as_of": registered_at}).json()["version"] == 1
        assert api.viewer.get(f"{url}/history").json()["items"][-1]["event"] == "Deleted"

    def test_secrets_are_set_replaced_and_removed_but_never_shown(self, api: Api):
        job = api.create_job()
        url = f"/api/jobs/{job['id']}/secrets"
        assert api.admin.put(f"{url}/OTHER", json={"value": OTHER_SECRET}).status_code == 204
        assert api.admin.put(f"{url}/API_KEY", json={"value": OTHER_SECRET}).status_code == 204
        shown = api.viewer.get(f"/api/jobs/{job['id']}").json()
        assert [s["name"] for s in shown["secrets"]] == ["API_KEY", "OTHER"]
        assert api.admin.delete(f"{url}/OTHER").status_code == 204
        missing = api.admin.delete(f"{url}/OTHER")
        assert missing.status_code == 404
        bad_name = api.admin.put(f"{url}/not-valid", json={"value": "x"})
        assert bad_name.status_code == 422 and bad_name.json()["field"] == "name"
        empty = api.admin.put(f"{url}/EMPTY", json={"value": ""})
        assert empty.status_code == 422 and empty.json()["field"] == "value"
        history = api.viewer.get(f"/api/jobs/{job['id']}/history").json()["items"]
        assert [h["event"] for h in history][-3:] == [
            "SecretStored",
            "SecretStored",
            "SecretRemoved",
        ]
        assert history[-2]["changes"] == {"secrets.API_KEY": {"from": "(set)", "to": "(set)"}}
        assert history[-1]["changes"] == {"secrets.OTHER": {"from": "(set)", "to": None}}
        # The secret reached the store encrypted, and the engine's door still opens it.
        run = api.operator.post(f"/api/jobs/{job['id']}/runs").json()
        aggregate = api.system.app.get_run(UUID(run["run_id"]))
        assert api.system.app.secrets_for_run(aggregate) == {"API_KEY": OTHER_SECRET}

    def test_bad_input_gets_a_problem_naming_the_field_and_writes_nothing(self, api: Api):
        before = api.position()
        cases: list[tuple[dict[str, Any], str]] = [
            ({**JOB, "name": ""}, "name"),
            ({**JOB, "parameters": [1, 2]}, "parameters"),
            ({**JOB, "parameters": "text"}, "parameters"),
            ({**JOB, "program": {"argv": []}}, "program.argv"),
            ({**JOB, "job_type": "cobol"}, "job_type"),
            ({**JOB, "schedule": {"cron": "61 * * * *"}}, "schedule.cron"),
            (
                {**JOB, "schedule": {"cron": "0 2 * * *", "timezone": "Mars/Base"}},
                "schedule.timezone",
            ),
            ({**JOB, "log_level": "Loud"}, "log_level"),
            ({**JOB, "timeout_seconds": 0}, "timeout_seconds"),
            ({**JOB, "overlap": "sometimes"}, "overlap"),
            ({**JOB, "secrets": {"bad name": SECRET}}, "secrets"),
            ({**JOB, "secrets": {"API_KEY": 42}}, "secrets.API_KEY"),
            ({**JOB, "parameters": {"deep": "\u0000"}}, "parameters.deep"),
            ({**JOB, "parameters": {"big": 10**30}}, "parameters.big"),
            ({**JOB, "unknown": 1}, "unknown"),
            ({k: v for k, v in JOB.items() if k != "name"}, "name"),
        ]
        for body, field in cases:
            response = api.admin.post("/api/jobs", json=body)
            assert response.status_code == 422, (field, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            problem = response.json()
            assert problem["status"] == 422 and problem["field"] == field, (field, problem)
            assert problem["type"].startswith("urn:jobledger:problem:")
        malformed = api.admin.post(
            "/api/jobs", content=b'{"name": ', headers={"content-type": "application/json"}
        )
        assert malformed.status_code == 400 and malformed.json()["field"] == "body"
        huge = api.admin.post(
            "/api/jobs",
            content=b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}',
            headers={"content-type": "application/json"},
        )
        assert huge.status_code == 413 and huge.json()["field"] == "body"
        assert api.admin.get("/api/jobs/not-a-uuid").json()["field"] == "job_id"
        assert api.admin.get("/api/runs", params={"status": "done"}).json()["field"] == "status"
        assert api.admin.get("/api/jobs", params={"limit": 0}).json()["field"] == "limit"
        assert api.admin.get(f"/api/jobs/{uuid4()}").status_code == 404
        assert api.admin.get("/api/no-such-thing").status_code == 404
        assert api.position() == before
        assert api.viewer.get("/api/jobs").json()["items"] == []

    def test_every_bad_field_is_named_in_one_422_and_nothing_is_written(self, api: Api):
        job = api.create_job(secrets={})
        before = api.position()
        four_bad = {
            "schedule": {"cron": "61 * * * *", "timezone": "Mars/Base"},
            "program": {"argv": []},
        }
        four = {"schedule.cron", "schedule.timezone", "parameters", "program.argv"}
        # Parameters the request schema refuses (not an object) and ones the application
        # refuses (too large): either way, one answer names all four fields.
        for parameters in ([1, 2], {"blob": "x" * 70_000}):
            body = {**four_bad, "parameters": parameters}
            for response in (
                api.admin.post("/api/jobs", json={**JOB, **body}),
                api.admin.patch(f"/api/jobs/{job['id']}", json={**body, "name": "Renamed"}),
            ):
                assert response.status_code == 422, response.text
                assert response.headers["content-type"] == "application/problem+json"
                problem = response.json()
                assert {e["field"] for e in problem["errors"]} == four, problem
                assert all(e["detail"] for e in problem["errors"])
                assert problem["detail"].startswith("4 fields are invalid")
        assert api.position() == before
        assert api.viewer.get(f"/api/jobs/{job['id']}").json()["name"] == JOB["name"]

    def test_a_taken_name_is_a_409_naming_name_and_writes_nothing(self, api: Api):
        job = api.create_job(secrets={})
        other = api.create_job(name="Other", secrets={})
        before = api.position()
        duplicate = api.admin.post("/api/jobs", json={**JOB, "name": " invoice SYNC "})
        assert duplicate.status_code == 409, duplicate.text
        assert duplicate.headers["content-type"] == "application/problem+json"
        assert duplicate.json()["field"] == "name"
        renamed = api.admin.patch(f"/api/jobs/{other['id']}", json={"name": "INVOICE sync"})
        assert renamed.status_code == 409 and renamed.json()["field"] == "name"
        assert api.position() == before  # nothing written
        assert api.admin.delete(f"/api/jobs/{job['id']}").status_code in (200, 204)
        assert api.admin.post("/api/jobs", json={**JOB, "secrets": {}}).status_code == 201

    def test_roles_and_tokens(self, api: Api):
        job = api.create_job()
        url = f"/api/jobs/{job['id']}"
        missing = api.anonymous.get("/api/jobs")
        assert missing.status_code == 401
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
        assert missing.headers["content-type"] == "application/problem+json"
        wrong = api.anonymous.get("/api/jobs", headers={"Authorization": "Bearer jl_wrong"})
        assert wrong.status_code == 401 and "invalid_token" in wrong.headers["WWW-Authenticate"]
        basic = api.anonymous.get("/api/jobs", headers={"Authorization": "Basic eDp5"})
        assert basic.status_code == 401
        for path in ("/openapi.json", "/docs", "/metrics", url, f"{url}/history", "/api/audit"):
            assert api.anonymous.get(path).status_code == 401, path
            assert api.viewer.get(path).status_code == 200, path
        health = api.anonymous.get("/healthz").json()
        assert (health["status"], health["store"], health["problems"]) == ("ok", "reachable", [])
        before = api.position()
        writes = [
            ("post", "/api/jobs", JOB),
            ("patch", url, {"name": "x"}),
            ("put", f"{url}/secrets/X", {"value": "v"}),
            ("delete", f"{url}/secrets/API_KEY", None),
            ("post", f"{url}/enable", None),
            ("post", f"{url}/disable", None),
            ("delete", url, None),
        ]
        for role in ("viewer", "operator"):
            for method, path, body in writes:
                response = getattr(api, role).request(method.upper(), path, json=body)
                assert response.status_code == 403, (role, method, path)
                assert "admin" in response.json()["detail"]
        for path in (f"{url}/runs", f"/api/runs/{uuid4()}/cancel"):
            assert api.viewer.post(path).status_code == 403
        assert api.position() == before
        # An operator overrides only what the job opens to overrides: nothing by default.
        refused = api.operator.post(f"{url}/runs", json={"parameters": {"batch": 5}})
        assert refused.status_code == 403, refused.text
        assert refused.json()["field"] == "parameters.batch"
        assert api.position() == before  # refused: nothing was requested
        opened = api.admin.patch(url, json={"overridable_parameters": ["batch"]})
        assert opened.status_code == 200, opened.text
        assert opened.json()["overridable_parameters"] == ["batch"]
        # The operator may run now and cancel; the events name the operator.
        run = api.operator.post(f"{url}/runs", json={"parameters": {"batch": 5}})
        assert run.status_code == 202
        run_id = run.json()["run_id"]
        assert run.headers["Location"] == f"/api/runs/{run_id}"
        assert api.operator.post(f"/api/runs/{run_id}/cancel").status_code == 202
        shown = api.viewer.get(f"/api/runs/{run_id}").json()
        assert shown["requested_by"] == "token:operator"
        assert shown["cancel_requested_by"] == "token:operator"
        assert shown["status"] == "cancelled"
        # A revoked token stops working at once.
        assert api.token_store.revoke("viewer")
        assert api.viewer.get("/api/jobs").status_code == 401

    def test_runs_are_requested_listed_shown_and_cancelled(self, api: Api):
        job = api.create_job(secrets={}, overridable_parameters=["batch"])
        other = api.create_job(name="other", secrets={})
        run_ids = [
            api.operator.post(f"/api/jobs/{job['id']}/runs").json()["run_id"] for _ in range(3)
        ]
        api.operator.post(f"/api/jobs/{other['id']}/runs")
        overrides = api.operator.post(
            f"/api/jobs/{job['id']}/runs", json={"parameters": {"batch": 1}}
        )
        run_ids.append(overrides.json()["run_id"])
        not_object = api.operator.post(f"/api/jobs/{job['id']}/runs", json={"parameters": [1]})
        assert not_object.status_code == 422 and not_object.json()["field"] == "parameters"
        listed = api.viewer.get("/api/runs", params={"job_id": job["id"], "limit": 3}).json()
        assert [r["id"] for r in listed["items"]] == run_ids[::-1][:3]
        rest = api.viewer.get(
            "/api/runs", params={"job_id": job["id"], "cursor": listed["next_cursor"]}
        ).json()
        assert [r["id"] for r in rest["items"]] == [run_ids[0]]
        run = api.viewer.get(f"/api/runs/{run_ids[0]}").json()
        assert run["status"] == "queued" and run["trigger"] == "manual"
        assert run["job_version"] == job["version"] and run["attempt"] == 1
        for key in ("scheduled_for", "requested_at", "started_at", "finished_at", "exit_code"):
            assert key in run
        assert api.system.app.get_run(UUID(run_ids[-1])).parameters["batch"] == 1
        assert api.operator.post(f"/api/runs/{run_ids[0]}/cancel").status_code == 202
        again = api.operator.post(f"/api/runs/{run_ids[0]}/cancel")
        assert again.status_code == 409
        cancelled = api.viewer.get("/api/runs", params={"status": "cancelled"}).json()["items"]
        assert [r["id"] for r in cancelled] == [run_ids[0]]
        future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        assert api.viewer.get("/api/runs", params={"since": future}).json()["items"] == []
        assert len(api.viewer.get("/api/runs", params={"until": future}).json()["items"]) == 5
        assert api.viewer.get(f"/api/runs/{uuid4()}").status_code == 404
        assert api.operator.post(f"/api/runs/{uuid4()}/cancel").status_code == 404
        assert api.viewer.get(f"/api/jobs/{job['id']}").json()["last_run"]["status"] == "queued"

    def test_log_pages_filter_by_level_and_the_stream_follows_a_run_live(self, api: Api):
        job = api.create_job(secrets={}, log_level="Verbose")
        run_id = api.operator.post(f"/api/jobs/{job['id']}/runs").json()["run_id"]
        app = api.system.app
        run = app.start_run(UUID(run_id), worker="w1")
        log = app.open_run_log(run)
        now = datetime.now(UTC)
        levels = [LogLevel.Verbose, LogLevel.Info, LogLevel.Warning, LogLevel.Error] * 3
        app.record_log_entries(log, [(now, lvl, f"line {i}") for i, lvl in enumerate(levels)])
        api.system.follower.wait_until(api.position(), timeout=10)
        url = f"/api/runs/{run_id}/logs"
        page = api.viewer.get(url, params={"limit": 5}).json()
        assert [e["seq"] for e in page["items"]] == [1, 2, 3, 4, 5]
        assert page["items"][0] == {
            "seq": 1,
            "at": page["items"][0]["at"],
            "level": "Verbose",
            "message": "line 0",
        }
        assert page["next_after"] == 5
        warnings = api.viewer.get(url, params={"min_level": "Warning"}).json()
        assert {e["level"] for e in warnings["items"]} == {"Warning", "Error"}
        assert len(warnings["items"]) == 6 and warnings["next_after"] is None
        after = api.viewer.get(url, params={"after": 10}).json()
        assert [e["seq"] for e in after["items"]] == [11, 12]
        bad = api.viewer.get(url, params={"min_level": "Loud"})
        assert bad.status_code == 422 and bad.json()["field"] == "min_level"
        assert api.viewer.get(f"/api/runs/{uuid4()}/logs").status_code == 404

        # The stream: what is there (from Last-Event-ID), then what arrives, then the end.
        # The run goes on only once the stream has delivered its first entry, so the late
        # entries and the end can only reach the client by the stream following the run.
        def finish() -> None:
            more = [(datetime.now(UTC), LogLevel.Error, f"late {i}") for i in range(3)]
            app.record_log_entries(log, more)
            app.succeed_run(UUID(run_id))

        received: list[dict[str, Any]] = []
        ends: list[dict[str, Any]] = []
        with api.viewer.stream(
            "GET",
            f"{url}/stream",
            params={"min_level": "Warning"},
            headers={"Last-Event-ID": "8"},
        ) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            event = "message"
            for line in stream.iter_lines():
                api.bodies.append(line)
                if line.startswith("event: "):
                    event = line[len("event: ") :]
                elif line.startswith("data: "):
                    data = json.loads(line[len("data: ") :])
                    (ends if event == "end" else received).append(data)
                    event = "message"
                    if len(received) == 1 and not ends:
                        assert api.viewer.get(f"/api/runs/{run_id}").json()["status"] == "running"
                        finish()
        assert [e["seq"] for e in received] == [11, 12, 13, 14, 15]
        assert [e["message"] for e in received][-3:] == ["late 0", "late 1", "late 2"]
        assert ends == [{"status": "succeeded"}]
        assert api.viewer.get(f"/api/runs/{run_id}").json()["status"] == "succeeded"

    def test_a_run_shows_how_many_log_entries_were_discarded_below_its_threshold(self, api: Api):
        from application.run_commands import Ending, RunEnding

        job = api.create_job(secrets={})
        run_id = api.operator.post(f"/api/jobs/{job['id']}/runs").json()["run_id"]
        app = api.system.app
        api.system.follower.wait_until(api.position(), timeout=10)
        assert api.viewer.get(f"/api/runs/{run_id}").json()["discarded_entries"] == 0
        run = app.start_run(UUID(run_id), worker="w1")
        ending = RunEnding(run, Ending.SUCCEEDED, exit_code=0, discarded_entries=7)
        app.end_runs([ending], retry_now=datetime.now(UTC))
        api.system.follower.wait_until(api.position(), timeout=10)
        shown = api.viewer.get(f"/api/runs/{run_id}").json()
        assert shown["status"] == "succeeded" and shown["discarded_entries"] == 7
        listed = api.viewer.get("/api/runs", params={"job_id": job["id"]}).json()["items"]
        assert [r["discarded_entries"] for r in listed] == [7]

    def test_a_run_shows_its_effective_parameters_with_the_overridden_keys_never_secrets(
        self, api: Api
    ):
        job = api.create_job(overridable_parameters=["batch"])  # with its secret API_KEY
        plain = api.operator.post(f"/api/jobs/{job['id']}/runs").json()["run_id"]
        overridden = api.operator.post(
            f"/api/jobs/{job['id']}/runs", json={"parameters": {"batch": 1}}
        ).json()["run_id"]
        api.system.follower.wait_until(api.position(), timeout=10)
        shown = api.viewer.get(f"/api/runs/{overridden}").json()
        assert shown["parameters"] == {"tenant": "acme", "batch": 1}
        assert shown["overrides"] == ["batch"]
        assert "API_KEY" not in json.dumps(shown)  # secrets are not parameters
        unchanged = api.viewer.get(f"/api/runs/{plain}").json()
        assert unchanged["parameters"] == JOB["parameters"] and unchanged["overrides"] == []
        listed = api.viewer.get("/api/runs", params={"job_id": job["id"]}).json()["items"]
        assert [r["overrides"] for r in listed] == [["batch"], []]

    def test_a_failed_attempt_links_to_its_retry_and_the_retry_keeps_its_parameters(self, api: Api):
        from application.run_commands import Ending, RunEnding

        job = api.create_job(
            secrets={}, max_retries=2, retry_backoff_seconds=0, overridable_parameters=["batch"]
        )
        first = api.operator.post(
            f"/api/jobs/{job['id']}/runs", json={"parameters": {"batch": 3}}
        ).json()["run_id"]
        app = api.system.app
        run = app.start_run(UUID(first), worker="w1")
        app.end_runs([RunEnding(run, Ending.FAILED, exit_code=1)], retry_now=datetime.now(UTC))
        api.system.follower.wait_until(api.position(), timeout=10)
        failed = api.viewer.get(f"/api/runs/{first}").json()
        assert failed["status"] == "failed" and failed["next_attempt"] is not None
        retry = api.viewer.get(f"/api/runs/{failed['next_attempt']}").json()
        assert (retry["attempt"], retry["retry_of"], retry["trigger"]) == (2, first, "retry")
        assert retry["parameters"] == {"tenant": "acme", "batch": 3}
        assert retry["overrides"] == ["batch"]
        assert retry["next_attempt"] is None

    def test_audit_trail_across_jobs_by_actor_and_time(self, api: Api):
        first = api.create_job(secrets={})
        start = datetime.now(UTC)
        second = api.create_job(name="second", secrets={})
        admin_events = api.viewer.get("/api/audit", params={"actor": "token:admin"}).json()
        assert [(e["job_id"], e["event"]) for e in admin_events["items"]] == [
            (second["id"], "Registered"),
            (first["id"], "Registered"),
        ]
        assert admin_events["items"][0]["job_name"] == "second"
        since = api.viewer.get("/api/audit", params={"since": start.isoformat()}).json()
        assert [e["job_id"] for e in since["items"]] == [second["id"]]
        assert api.viewer.get("/api/audit", params={"actor": "token:nobody"}).json() == {
            "items": [],
            "next_cursor": None,
        }
        one = api.viewer.get("/api/audit", params={"limit": 1}).json()
        assert len(one["items"]) == 1 and one["next_cursor"]
        by_job = api.viewer.get("/api/audit", params={"job_id": first["id"]}).json()["items"]
        assert [e["event"] for e in by_job] == ["Registered"]

    def _sign_in_through_the_form(self, api: Api, token: str) -> int:
        with httpx.Client(base_url=api.server.url, timeout=30) as browser:
            page = browser.get("/login")
            nonce = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert nonce is not None
            form = {"token": token, "csrf_token": nonce.group(1)}
            return browser.post("/login", data=form).status_code

    def test_audit_trail_says_who_ran_cancelled_and_got_access_never_a_secret(self, api: Api):
        job = api.create_job()  # with its secret, SECRET
        run = api.admin.post(
            f"/api/jobs/{job['id']}/runs", json={"parameters": {"tenant": "globex"}}
        ).json()
        assert api.operator.post(f"/api/runs/{run['run_id']}/cancel").status_code in (200, 202)
        app, store = api.system.app, api.token_store
        formula = '=HYPERLINK("http://evil.example","x")'
        made, revoked = app.create_token(store, formula, "viewer", actor="cli:alice")
        app.revoke_token(store, formula, actor="cli:bob")
        assert self._sign_in_through_the_form(api, api.tokens["viewer"]) == 303
        assert self._sign_in_through_the_form(api, SECRET) == 401  # not a token: never kept
        assert self._sign_in_through_the_form(api, revoked) == 401  # named: someone holds it
        api.viewer.get("/api/jobs")  # bearer requests are not sign-ins
        api.system.follower.wait_until(api.position(), timeout=10)

        def items(**params: Any) -> list[dict[str, Any]]:
            response = api.viewer.get("/api/audit", params=params)
            assert response.status_code == 200, response.text
            return response.json()["items"]

        (requested,) = items(action="run.requested")
        assert (requested["actor"], requested["job_id"]) == ("token:admin", job["id"])
        assert requested["details"] == {
            "run_id": run["run_id"],
            "parameters": {"tenant": "globex", "batch": 50},  # the effective parameters
        }
        (cancelled,) = items(action="run.cancelled")
        assert cancelled["actor"] == "token:operator"
        assert cancelled["details"]["run_id"] == run["run_id"]
        assert cancelled["job_name"] == "Invoice sync"
        tokens = items(action=["token.created", "token.revoked"])
        assert [(t["action"], t["actor"], t["details"]["token_name"]) for t in tokens] == [
            ("token.revoked", "cli:bob", formula),
            ("token.created", "cli:alice", formula),
        ]
        assert all(t["job_id"] is None and t["details"]["role"] == "viewer" for t in tokens)
        sign_ins = items(action="sign_in.succeeded,sign_in.failed")
        assert [(e["action"], e["actor"], e["details"]) for e in sign_ins] == [
            (
                "sign_in.failed",
                "unknown",
                {"token_id": made.token_id, "token_name": formula, "client": "127.0.0.1"},
            ),
            ("sign_in.failed", "unknown", {"token_name": "unknown", "client": "127.0.0.1"}),
            (
                "sign_in.succeeded",
                "token:viewer",
                {
                    "token_id": sign_ins[2]["details"]["token_id"],
                    "token_name": "viewer",
                    "client": "127.0.0.1",
                },
            ),
        ]
        assert [e["action"] for e in items(job_id=job["id"])] == [
            "run.cancelled",
            "run.requested",
            "job.changed",  # its secret, by name
            "job.created",
        ]
        assert [e["action"] for e in items(job_id=job["id"], actor="token:operator")] == [
            "run.cancelled"
        ]
        refused = api.viewer.get("/api/audit", params={"action": ["run.requested", "run.ran"]})
        assert refused.status_code == 422 and refused.json()["field"] == "action"
        assert "'run.ran'" in refused.json()["detail"]

        everything = items(limit=1000)
        listing = api.viewer.get("/api/audit.csv")
        assert listing.status_code == 200
        assert listing.headers["content-type"].startswith("text/csv")
        assert "attachment" in listing.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(listing.text)))
        assert [(r["action"], r["actor"]) for r in rows] == [
            (e["action"], e["actor"]) for e in everything
        ]
        names = {r["action"]: r["details"] for r in rows if r["action"].startswith("token.")}
        assert json.loads(names["token.created"])["token_name"] == formula  # inside JSON: inert
        only = api.viewer.get("/api/audit.csv", params={"action": "token.created"}).text
        assert [r["action"] for r in csv.DictReader(io.StringIO(only))] == ["token.created"]
        for text in (listing.text, json.dumps(everything)):
            assert SECRET not in text and api.tokens["viewer"] not in text
            assert revoked not in text and revoked[3:12] not in text
        bad = api.viewer.get("/api/audit.csv", params={"since": "2026-01-01T00:00:00"})
        assert bad.status_code == 422 and bad.json()["field"] == "since"

    def test_audit_csv_defuses_cells_a_spreadsheet_would_run(self, api: Api):
        job = api.create_job(name="=1+2", secrets={})
        api.admin.patch(f"/api/jobs/{job['id']}", json={"name": "@SUM(A1)"})
        api.system.follower.wait_until(api.position(), timeout=10)
        text = api.viewer.get("/api/audit.csv", params={"job_id": job["id"]}).text
        names = [r["job_name"] for r in csv.DictReader(io.StringIO(text))]
        assert names == ["'@SUM(A1)", "'=1+2"]

    def test_job_types_schedule_preview_and_metrics(self, api: Api):
        types = api.viewer.get("/api/job-types").json()["items"]
        names = [t["name"] for t in types]
        assert {"command", "powershell", "python", "http"} <= set(names)
        command = next(t for t in types if t["name"] == "command")
        assert command["program_schema"]["required"] == ["argv"]

        preview = api.viewer.post(
            "/api/schedules/preview",
            json={
                "cron": "30 1 * * *",
                "timezone": "Europe/London",
                "after": "2026-03-27T12:00:00Z",
                "count": 3,
            },
        ).json()
        assert preview["description"] == "at 01:30 every day"
        assert [f["at"] for f in preview["fire_times"]] == [
            "2026-03-28T01:30:00+00:00",
            "2026-03-29T01:00:00+00:00",  # 01:30 does not exist: the first instant after
            "2026-03-30T00:30:00+00:00",
        ]
        assert [f["utc_offset"] for f in preview["fire_times"]] == ["+00:00", "+01:00", "+01:00"]
        assert [f["offset_changed"] for f in preview["fire_times"]] == [False, True, False]
        assert preview["fire_times"][1]["local"] == "2026-03-29T02:00:00+01:00"
        default = api.viewer.post("/api/schedules/preview", json={"cron": "@hourly"}).json()
        assert len(default["fire_times"]) == 10
        first = datetime.fromisoformat(default["fire_times"][0]["at"])
        assert timedelta(0) < first - datetime.now(UTC) <= timedelta(hours=1)
        for body, field in [
            ({"cron": "61 * * * *"}, "cron"),
            ({"cron": "* * * * *", "timezone": "Nowhere/City"}, "timezone"),
            ({"cron": "* * * * *", "count": 101}, "count"),
            ({"cron": "* * * * *", "after": "2026-01-01T00:00:00"}, "after"),
            ({"timezone": "UTC"}, "cron"),
        ]:
            refused = api.viewer.post("/api/schedules/preview", json=body)
            assert refused.status_code == 422 and refused.json()["field"] == field, body

        job = api.create_job(secrets={})
        run_id = api.operator.post(f"/api/jobs/{job['id']}/runs").json()["run_id"]
        api.system.app.start_run(UUID(run_id), worker="w1")
        api.system.follower.wait_until(api.position(), timeout=10)
        metrics = api.viewer.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        text = metrics.text
        assert 'jobledger_runs{status="running"} 1' in text
        assert 'jobledger_runs{status="queued"} 0' in text
        assert 'jobledger_projection_lag_events{projection="jobs"}' in text
        assert "jobledger_fire_lag_seconds_count" in text
        assert "# TYPE jobledger_runs gauge" in text


class TestApiOnSQLite(ApiContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> StoreSettings:
        return StoreSettings(kind="sqlite", sqlite_path=tmp_path / "data" / "jobledger.sqlite3")


@pytest.mark.postgres
class TestApiOnPostgres(ApiContract):
    @pytest.fixture
    def store(self, pg_schema: tuple[str, str]) -> StoreSettings:
        url, schema = pg_schema
        return parse_database_url(f"{url}?schema={schema}")
