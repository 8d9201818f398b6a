"""The notifications API over real HTTP (uvicorn over a built System on SQLite or a fresh
PostgreSQL schema), with the notifier running and a real webhook receiver: channels are
managed by administrators only, their secrets are write-only, bad input names its field,
a test message reaches the receiver, and a failed run's delivery shows on the run."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from adapters.event_store_config import StoreSettings, parse_database_url
from application.notification_commands import NotifySettings
from interfaces.bootstrap import System, build, build_token_store
from interfaces.http.app import create_app
from interfaces.http.server import BackgroundServer
from interfaces.notifier_runtime import start_notifier
from interfaces.settings import Settings
from tests.receivers import WebhookReceiver, webhook_receiver

SIGNING = "hmac-key-4e2d-never-in-a-response"
AUTHORIZATION = "Bearer downstream-9c3a-never-in-a-response"
CHANNELS = "/api/notification-channels"


class Env:
    def __init__(self, system: System, server: BackgroundServer, tokens: dict[str, str]):
        self.system = system
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

    def _keep(self, response: httpx.Response) -> None:
        response.read()
        self.bodies.append(response.text + json.dumps(dict(response.headers)))

    def __getattr__(self, role: str) -> httpx.Client:
        return self.clients[role]

    def channel(self, receiver: WebhookReceiver, name: str = "on-call") -> dict[str, Any]:
        response = self.admin.post(
            CHANNELS,
            json={
                "name": name,
                "type": "webhook",
                "config": {"url": receiver.url},
                "secrets": {"signing_secret": SIGNING, "authorization": AUTHORIZATION},
            },
        )
        assert response.status_code == 201, response.text
        return response.json()


class NotificationsApi:
    @pytest.fixture
    def store(self, tmp_path: Path) -> StoreSettings:
        raise NotImplementedError

    @pytest.fixture
    def env(self, store: StoreSettings, tmp_path: Path) -> Iterator[Env]:
        settings = Settings(store=store, data_dir=tmp_path / "data", master_key=None)
        system = build(settings, announce=lambda _m: None)
        tokens = build_token_store(settings)
        plain = {role: tokens.create(role, role)[1] for role in ("admin", "operator", "viewer")}
        system.start_projections()
        notifier = start_notifier(
            system.app,
            system.backend,
            NotifySettings(base_url="https://jobs.example"),
            views=system,  # as `jobledger serve` starts it: /metrics shows its figures
        )
        server = BackgroundServer(create_app(system, tokens), port=0).start()
        env = Env(system, server, plain)
        try:
            yield env
        finally:
            for client in env.clients.values():
                client.close()
            server.stop()
            notifier.stop()
            tokens.close()
            system.close()
            for body in env.bodies:
                assert SIGNING not in body and AUTHORIZATION not in body

    def test_channels_are_created_listed_changed_and_deleted_secrets_by_name_only(self, env):
        with webhook_receiver() as receiver:
            created = env.channel(receiver)
            assert created["secrets"] == ["authorization", "signing_secret"]
            assert created["config"] == {"url": receiver.url}
            listed = env.admin.get(CHANNELS).json()["items"]
            assert [c["name"] for c in listed] == ["on-call"]
            path = f"{CHANNELS}/{created['id']}"
            assert env.admin.get(path).json() == created
            stale = env.admin.patch(path, json={"name": "x"}, headers={"If-Match": '"99"'})
            assert stale.status_code == 409
            changed = env.admin.patch(
                path, json={"name": "Ops", "secrets": {"authorization": None}}
            )
            assert changed.status_code == 200, changed.text
            assert changed.json()["name"] == "Ops"
            assert changed.json()["secrets"] == ["signing_secret"]
            # Listed from the notifications view, at once after the change: its times too.
            [row] = env.admin.get(CHANNELS).json()["items"]
            assert (row["name"], row["secrets"], row["version"]) == ("Ops", ["signing_secret"], 3)
            assert row["created_at"] < row["updated_at"]
            assert env.admin.delete(path).status_code == 204
            assert env.admin.get(path).status_code == 404
            assert env.admin.get(CHANNELS).json()["items"] == []

    def test_channel_changes_and_tests_are_on_the_audit_trail_secrets_by_name(self, env):
        with webhook_receiver() as receiver:
            created = env.channel(receiver)
            path = f"{CHANNELS}/{created['id']}"
            renamed = env.admin.patch(path, json={"name": "Ops"})
            assert renamed.status_code == 200, renamed.text
            rotated = env.admin.patch(path, json={"secrets": {"signing_secret": SIGNING + "2"}})
            assert rotated.status_code == 200, rotated.text
            assert env.admin.post(f"{path}/test").status_code == 202
            assert env.admin.delete(path).status_code == 204
            app = env.system.app
            assert env.system.follower.wait_until(app.recorder.max_notification_id(), timeout=10)
            actions = "channel.created,channel.changed,channel.deleted,channel.tested"
            found = env.viewer.get("/api/audit", params={"action": actions})
            assert found.status_code == 200, found.text
            items = found.json()["items"][::-1]  # oldest first
            assert [(e["action"], e["details"]["channel_name"]) for e in items] == [
                ("channel.created", "on-call"),
                ("channel.changed", "Ops"),
                ("channel.changed", "Ops"),
                ("channel.tested", "Ops"),
                ("channel.deleted", "Ops"),
            ]
            assert {e["actor"] for e in items} == {"token:admin"}
            assert {e["details"]["channel_type"] for e in items} == {"webhook"}
            assert {e["details"]["channel_id"] for e in items} == {created["id"]}
            assert items[0]["details"]["secrets"] == ["authorization", "signing_secret"]
            assert items[1]["changes"] == {"name": {"from": "on-call", "to": "Ops"}}
            assert items[2]["details"]["secret"] == "signing_secret"
            # The trail names secrets, never their values (checked on every body at teardown).
            assert SIGNING not in found.text and AUTHORIZATION not in found.text

    def test_metrics_report_this_notifiers_deliveries_by_outcome_and_latency(self, env):
        with (
            webhook_receiver(200) as ok,
            webhook_receiver(500) as failing,
            webhook_receiver(404) as gone,
        ):
            before = metrics(env)
            assert before['jobledger_notification_attempts_total{outcome="delivered"}'] == 0
            assert (
                before["jobledger_notification_last_delivery_latency_seconds"]
                != (before["jobledger_notification_last_delivery_latency_seconds"])
            )  # NaN: nothing delivered yet
            for name, receiver in (("ok", ok), ("failing", failing), ("gone", gone)):
                channel = env.channel(receiver, name=name)
                sent = env.admin.post(f"{CHANNELS}/{channel['id']}/test")
                assert sent.status_code == 202
            expected = {
                'jobledger_notification_attempts_total{outcome="delivered"}': 1,
                'jobledger_notification_attempts_total{outcome="retrying"}': 1,
                'jobledger_notification_attempts_total{outcome="given_up"}': 1,
                "jobledger_notification_deliveries_pending": 1,  # the 500, due again
            }
            after = wait_for_metrics(env, expected)
            latency = after["jobledger_notification_last_delivery_latency_seconds"]
            assert 0 <= latency < 20
            for receiver in (ok, failing, gone):
                assert len(receiver.wait_for(1)) == 1

    def test_only_administrators_manage_channels(self, env):
        with webhook_receiver() as receiver:
            created = env.channel(receiver)
            path = f"{CHANNELS}/{created['id']}"
            for role in ("operator", "viewer"):
                client = env.clients[role]
                assert client.get(CHANNELS).status_code == 403
                assert client.get(path).status_code == 403
                assert client.post(f"{path}/test").status_code == 403
                assert client.delete(path).status_code == 403

    def test_bad_channels_are_refused_naming_the_field_and_write_nothing(self, env):
        with webhook_receiver() as receiver:
            env.channel(receiver)
            taken = env.admin.post(
                CHANNELS,
                json={"name": " ON-CALL", "type": "webhook", "config": {"url": receiver.url}},
            )
            assert taken.status_code == 409 and taken.json()["field"] == "name"
            cases = [
                ({"name": "a", "type": "webhook", "config": {"url": "ftp://x"}}, "config.url"),
                ({"name": "a", "type": "webhook", "config": {}}, "config.url"),
                ({"name": "a", "type": "email", "config": {"host": "h"}}, "config.from"),
                (
                    {"name": "a", "type": "slack", "config": {"url": receiver.url},
                     "secrets": {"password": "x"}},
                    "secrets.password",
                ),
                ({"name": "a", "type": "pager"}, "type"),
            ]  # fmt: skip
            for body, field in cases:
                refused = env.admin.post(CHANNELS, json=body)
                assert refused.status_code == 422, (body, refused.text)
                assert field in refused.json()["detail"], (body, refused.json())
            assert len(env.admin.get(CHANNELS).json()["items"]) == 1

    def test_a_test_message_is_accepted_and_reaches_the_receiver_signed(self, env):
        with webhook_receiver() as receiver:
            created = env.channel(receiver)
            accepted = env.admin.post(f"{CHANNELS}/{created['id']}/test")
            assert accepted.status_code == 202
            delivery_id = accepted.json()["delivery_id"]
            [request] = receiver.wait_for(1)
            assert request.headers["Idempotency-Key"] == delivery_id
            assert request.headers["Authorization"] == AUTHORIZATION
            assert request.headers["X-JobLedger-Signature"].startswith("sha256=")
            assert json.loads(request.body)["event"] == "test"

    def test_job_rules_are_checked_and_a_failed_run_shows_what_was_sent(self, env):
        with webhook_receiver() as receiver:
            env.channel(receiver)
            job = {"name": "Sync", "job_type": "command", "program": {"argv": ["false"]}}
            bad = env.admin.post(
                "/api/jobs", json={**job, "notify": [{"channel": "on-call", "on": ["oops"]}]}
            )
            assert bad.status_code == 422 and bad.json()["field"] == "notify.0.on.0"
            rules = [{"channel": "on-call", "on": ["failed", "recovered"]}]
            created = env.admin.post(
                "/api/jobs", json={**job, "notify": rules, "long_running_seconds": 600}
            )
            assert created.status_code == 201, created.text
            assert created.json()["notify"] == rules
            assert created.json()["long_running_seconds"] == 600
            app = env.system.app
            run = app.request_run(UUID(created.json()["id"]), actor="admin")
            app.start_run(run.id, worker="w")
            app.fail_run(run.id, exit_code=1, error="failed")
            [request] = receiver.wait_for(1)
            payload = json.loads(request.body)
            assert payload["run_url"] == f"https://jobs.example/runs/{run.id}"
            sent = env.viewer.get(f"/api/runs/{run.id}/notifications").json()["items"]
            assert [(d["event"], d["channel_name"]) for d in sent] == [("failed", "on-call")]
            assert sent[0]["status"] in ("sending", "delivered")


def metrics(env: Env) -> dict[str, float]:
    answer = env.viewer.get("/metrics")
    assert answer.status_code == 200, answer.text
    samples = [line.rsplit(" ", 1) for line in answer.text.splitlines() if line[:1] != "#"]
    return {name: float(value) for name, value in samples if "notification" in name}


def wait_for_metrics(env: Env, expected: dict[str, float], timeout: float = 20) -> dict[str, float]:
    """/metrics once it shows `expected` (the notifier counts an attempt after recording it,
    just after the receiver answered); fails naming what it last showed."""
    deadline = time.monotonic() + timeout
    while True:
        found = metrics(env)
        if all(found.get(name) == value for name, value in expected.items()):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.05)  # a poll interval: the counters have no event to wait on


class TestNotificationsApiOnSQLite(NotificationsApi):
    @pytest.fixture
    def store(self, tmp_path: Path) -> StoreSettings:
        return StoreSettings(kind="sqlite", sqlite_path=tmp_path / "data" / "jobledger.sqlite3")


@pytest.mark.postgres
class TestNotificationsApiOnPostgres(NotificationsApi):
    @pytest.fixture
    def store(self, pg_schema: tuple[str, str]) -> StoreSettings:
        url, schema = pg_schema
        return parse_database_url(f"{url}?schema={schema}")
