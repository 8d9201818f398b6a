"""Webhook triggers over real HTTP, on SQLite and PostgreSQL: an administrator makes, lists
and revokes a job's triggers; another system calls /hooks/{id} with the token (or a
GitHub-style signature) and a run starts, with every call on the audit trail."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from adapters.event_store_config import StoreSettings, parse_database_url
from interfaces.bootstrap import build, build_token_store
from interfaces.http.app import create_app
from interfaces.http.deps import wait_for_views
from interfaces.http.hook_limit import CallLimiter
from interfaces.http.rate_limit import FailureLimiter
from interfaces.http.server import BackgroundServer
from interfaces.settings import Settings
from tests.e2e.test_api import JOB, SECRET, Api

HOOK_LIMIT = 5


class ManualTime:
    """Seconds for the rate limiters, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def signed(token: str, body: bytes) -> dict[str, str]:
    digest = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


class TriggerContract:
    @pytest.fixture
    def store(self, tmp_path: Path) -> StoreSettings:
        raise NotImplementedError

    @pytest.fixture
    def time(self) -> ManualTime:
        return ManualTime()

    @pytest.fixture
    def api(self, store: StoreSettings, tmp_path: Path, time: ManualTime) -> Iterator[Api]:
        settings = Settings(store=store, data_dir=tmp_path / "data", master_key=None)
        system = build(settings, announce=lambda _message: None)
        tokens = build_token_store(settings)
        plain = {role: tokens.create(role, role)[1] for role in ("admin", "operator", "viewer")}
        system.start_projections()
        app = create_app(
            system,
            tokens,
            hook_calls=CallLimiter(limit=HOOK_LIMIT, window=60, clock=time),
            auth_failures=FailureLimiter(limit=50, clock=time),
        )
        server = BackgroundServer(app, port=0).start()
        api = Api(system, server, plain, tokens)
        try:
            yield api
        finally:
            api.close()
            server.stop()
            tokens.close()
            system.close()
            for body in api.bodies:
                assert SECRET not in body

    def make(self, api: Api, **job: Any) -> tuple[dict, dict]:
        created = api.create_job(overridable_parameters=["batch"], **job)
        return created, self.trigger_of(created, api)

    def trigger_of(self, job: dict[str, Any], api: Api, name: str = "ticketing") -> dict:
        response = api.admin.post(f"/api/jobs/{job['id']}/triggers", json={"name": name})
        assert response.status_code == 201, response.text
        return response.json()

    def audit(self, api: Api, action: str) -> list[dict[str, Any]]:
        # Calls to a hook are not commands of the API's own clients: wait for the views.
        assert wait_for_views(api.system, 10)
        response = api.admin.get("/api/audit", params={"action": action})
        assert response.status_code == 200, response.text
        return response.json()["items"]

    def test_a_trigger_is_created_listed_without_its_token_and_revoked(self, api: Api):
        job, trigger = self.make(api)
        assert set(trigger) == {"id", "job_id", "name", "created_at", "created_by", "url", "token"}
        assert trigger["url"] == f"{api.server.url}/hooks/{trigger['id']}"
        assert trigger["token"].startswith("jlh_") and trigger["created_by"] == "token:admin"
        listed = api.viewer.get(f"/api/jobs/{job['id']}/triggers")
        assert listed.status_code == 200
        assert listed.json() == {
            "items": [{k: v for k, v in trigger.items() if k not in ("url", "token")}]
        }
        assert trigger["token"] not in listed.text
        # Only the token's hash is stored: it is nowhere in the event store.
        events = api.system.app.recorder.select_notifications(start=1, limit=10_000)
        assert all(trigger["token"].encode() not in n.state for n in events)
        taken = api.admin.post(f"/api/jobs/{job['id']}/triggers", json={"name": "TICKETING"})
        assert taken.status_code == 409
        bad = api.admin.post(f"/api/jobs/{job['id']}/triggers", json={"name": "a/b"})
        assert bad.status_code == 422 and bad.json()["field"] == "name"
        assert (
            api.operator.post(f"/api/jobs/{job['id']}/triggers", json={"name": "x"}).status_code
            == 403
        )
        revoked = api.admin.delete(f"/api/jobs/{job['id']}/triggers/{trigger['id']}")
        assert revoked.status_code == 204
        assert api.viewer.get(f"/api/jobs/{job['id']}/triggers").json() == {"items": []}
        again = api.admin.delete(f"/api/jobs/{job['id']}/triggers/{trigger['id']}")
        assert again.status_code == 404
        call = api.anonymous.post(
            trigger["url"], headers={"Authorization": f"Bearer {trigger['token']}"}
        )
        assert call.status_code == 404
        created = self.audit(api, "trigger.created")
        assert [(e["actor"], e["job_id"], e["details"]["trigger_name"]) for e in created] == [
            ("token:admin", job["id"], "ticketing")
        ]
        assert [e["details"]["trigger_id"] for e in self.audit(api, "trigger.revoked")] == [
            trigger["id"]
        ]

    def test_a_call_with_the_token_starts_a_run_with_its_overrides(self, api: Api):
        job, trigger = self.make(api, secrets={})
        response = api.anonymous.post(
            trigger["url"],
            json={"batch": 7},
            headers={"Authorization": f"Bearer {trigger['token']}"},
        )
        assert response.status_code == 202, response.text
        run_id = response.json()["run_id"]
        run = api.viewer.get(f"/api/runs/{run_id}").json()
        assert run["trigger"] == "webhook:ticketing"
        assert run["requested_by"] == "webhook:ticketing"
        assert run["parameters"] == {**JOB["parameters"], "batch": 7}
        filtered = api.viewer.get("/api/runs", params={"job_id": job["id"]}).json()["items"]
        assert [r["trigger"] for r in filtered] == ["webhook:ticketing"]
        (entry,) = self.audit(api, "run.requested")
        assert entry["actor"] == "webhook:ticketing" and entry["job_id"] == job["id"]
        assert entry["details"]["run_id"] == run_id
        assert entry["details"]["trigger_id"] == trigger["id"]
        assert entry["details"]["client"] == "127.0.0.1"
        assert entry["details"]["parameters"]["batch"] == 7

    def test_a_github_style_signature_authenticates_the_body(self, api: Api):
        _job, trigger = self.make(api, secrets={})
        body = json.dumps({"batch": 3}).encode()
        headers = signed(trigger["token"], body)
        response = api.anonymous.post(trigger["url"], content=body, headers=headers)
        assert response.status_code == 202, response.text
        tampered = api.anonymous.post(
            trigger["url"], content=b'{"batch": 4}', headers=signed(trigger["token"], body)
        )
        assert tampered.status_code == 401

    def test_refused_calls_say_why_start_nothing_and_are_audited(self, api: Api, time: ManualTime):
        job, trigger = self.make(api)
        url, auth = trigger["url"], {"Authorization": f"Bearer {trigger['token']}"}
        before = api.viewer.get("/api/runs").json()["items"]

        wrong = api.anonymous.post(url, headers={"Authorization": "Bearer jlh_wrong"})
        assert wrong.status_code == 401 and "WWW-Authenticate" in wrong.headers
        missing = api.anonymous.post(url)
        assert missing.status_code == 401
        unknown = api.anonymous.post(f"/hooks/{uuid4()}", headers=auth)
        not_an_id = api.anonymous.post("/hooks/nope", headers=auth)
        assert unknown.status_code == not_an_id.status_code == 404
        assert unknown.json()["detail"] == not_an_id.json()["detail"]
        assert "revoked" not in unknown.text and "exist" not in unknown.text

        big = api.anonymous.post(url, content=b'{"batch": "' + b"x" * 70_000 + b'"}', headers=auth)
        assert big.status_code == 413 and big.json()["field"] == "body"
        assert "65536" in big.json()["detail"]
        array = api.anonymous.post(url, json=[1, 2], headers=auth)
        assert array.status_code == 422 and "JSON object" in array.json()["detail"]
        garbage = api.anonymous.post(url, content=b"{not json", headers=auth)
        assert garbage.status_code == 400 and garbage.json()["field"] == "body"
        closed = api.anonymous.post(url, json={"tenant": "evil"}, headers=auth)
        assert closed.status_code == 403 and closed.json()["field"] == "body.tenant"
        secret = api.anonymous.post(url, json={"API_KEY": "x"}, headers=auth)
        assert secret.status_code == 403 and secret.json()["field"] == "body.API_KEY"

        time.now += 61  # past the trigger's rate limit, which counts refused calls too
        api.admin.post(f"/api/jobs/{job['id']}/disable")
        disabled = api.anonymous.post(url, headers=auth)
        assert disabled.status_code == 409 and "disabled" in disabled.json()["detail"]

        assert api.viewer.get("/api/runs").json()["items"] == before
        refused = self.audit(api, "webhook.refused")
        statuses = sorted(e["details"]["status"] for e in refused)
        assert statuses == [400, 401, 401, 403, 403, 404, 404, 409, 413, 422]
        named = [e for e in refused if e["details"]["status"] != 404]
        assert all(e["actor"] == "webhook:ticketing" for e in named)
        assert all(e["job_id"] == job["id"] for e in named)
        assert {e["actor"] for e in refused if e["details"]["status"] == 404} == {"unknown"}
        written = json.dumps(refused)
        assert "jlh_wrong" not in written and trigger["token"] not in written

    def test_each_trigger_is_rate_limited_with_retry_after(self, api: Api, time: ManualTime):
        _job, trigger = self.make(api, secrets={})
        other = self.trigger_of(api.create_job(name="Other job", secrets={}), api)
        auth = {"Authorization": f"Bearer {trigger['token']}"}
        for _ in range(HOOK_LIMIT):
            assert api.anonymous.post(trigger["url"], headers=auth).status_code == 202
        limited = api.anonymous.post(trigger["url"], headers=auth)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "60"
        other_auth = {"Authorization": f"Bearer {other['token']}"}
        assert api.anonymous.post(other["url"], headers=other_auth).status_code == 202
        time.now += 61
        assert api.anonymous.post(trigger["url"], headers=auth).status_code == 202
        reasons = [e["details"]["reason"] for e in self.audit(api, "webhook.refused")]
        assert reasons == ["rate limited"]


class TestTriggersOnSQLite(TriggerContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> StoreSettings:
        return StoreSettings(kind="sqlite", sqlite_path=tmp_path / "data" / "jobledger.sqlite3")


@pytest.mark.postgres
class TestTriggersOnPostgres(TriggerContract):
    @pytest.fixture
    def store(self, pg_schema: tuple[str, str]) -> StoreSettings:
        url, schema = pg_schema
        return parse_database_url(f"{url}?schema={schema}")
