"""The notifier against real receivers: an HTTP server on 127.0.0.1 taking webhooks (signed,
with an idempotency key, retried after 500s and timeouts, never repeated once acknowledged),
an SMTP server taking mail over STARTTLS with a login, and two notifiers on one store (SQLite
and PostgreSQL) sending each notification once. Backoff runs on a fake clock."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from adapters.event_store_config import StoreSettings, parse_database_url
from adapters.senders import default_senders
from adapters.senders.email import EmailSender
from application.app import JobLedger
from application.notification_commands import NotifySettings
from application.ports import ThreadWakeup
from domain.delivery import DELIVERED
from interfaces.bootstrap import System, build
from interfaces.notifier_runtime import start_notifier
from interfaces.settings import Settings
from notifier.notifier import Notifier
from notifier.ports import MemoryPosition
from tests.fakes import FakeClock
from tests.receivers import SmtpReceiver, webhook_receiver

SIGNING_SECRET = "whsec-7c1f-never-in-a-record"
SMTP_PASSWORD = "smtp-pass-51aa-never-in-a-record"


def sqlite_store(tmp_path: Path) -> StoreSettings:
    return StoreSettings(kind="sqlite", sqlite_path=tmp_path / "jobledger.sqlite3")


@pytest.fixture
def system(tmp_path: Path) -> Iterator[System]:
    settings = Settings(store=sqlite_store(tmp_path), data_dir=tmp_path / "data", master_key=None)
    built = build(settings, announce=lambda _m: None)
    yield built
    built.close()


def failing_job(app: JobLedger, channel: str, name: str = "PSA sync") -> UUID:
    return app.register_job(
        name=name,
        job_type="command",
        program={"argv": ["false"]},
        actor="admin",
        policies={"notify": [{"channel": channel, "on": ["failed", "recovered"]}]},
    ).id


def fail_a_run(app: JobLedger, job_id: UUID) -> UUID:
    run = app.request_run(job_id, actor="admin")
    app.start_run(run.id, worker="w1")
    app.fail_run(run.id, exit_code=2, error="could not reach the PSA: ****")
    return run.id


def drain(n: Notifier) -> list[Any]:
    """One pass with the due attempts made in this thread, so a fake clock drives backoff."""
    n.decide()
    n.track()
    done = []
    for ident, due in sorted(n.pending().items(), key=lambda item: item[1]):
        if due <= n.clock.now():
            delivery = n.attempt(ident)
            if delivery is not None:
                done.append(delivery)
    return done


def test_a_webhook_is_signed_retried_after_a_500_and_a_timeout_and_never_repeated(system):
    app, clock = system.app, FakeClock()
    with webhook_receiver(500, ("hang", 3.0)) as receiver:
        app.create_channel(
            name="hooks",
            type="webhook",
            config={"url": receiver.url, "timeout_seconds": 1, "headers": {"X-Team": "ops"}},
            secrets={"signing_secret": SIGNING_SECRET},
            actor="admin",
        )
        run_id = fail_a_run(app, failing_job(app, "hooks"))
        n = Notifier(
            app, clock, MemoryPosition(), default_senders(), NotifySettings(), ThreadWakeup()
        )
        [first] = drain(n)
        assert first.last_status_code == 500 and first.status == "pending"
        assert drain(n) == []  # the backoff holds it back
        clock.advance(10)
        [second] = drain(n)
        assert "no answer" in second.last_error
        clock.advance(20)
        [third] = drain(n)
        assert third.status == DELIVERED and third.attempts == 3
        clock.advance(24 * 3600)
        assert drain(n) == []
        got = receiver.wait_for(3)
        assert len(got) == 3
        keys = {r.headers["Idempotency-Key"] for r in got}
        assert keys == {str(third.id)}
        for request in got:
            expected = hmac.new(SIGNING_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
            assert request.headers["X-JobLedger-Signature"] == f"sha256={expected}"
            assert request.headers["X-Team"] == "ops"
            payload = json.loads(request.body)
            assert payload["event"] == "failed" and payload["run_id"] == str(run_id)
            assert SIGNING_SECRET not in request.body.decode()
        record = app.get_delivery(third.id)
        assert SIGNING_SECRET not in repr(record.summary()) + repr(record.payload)
        assert app.run_notifications(run_id)[0]["status"] == DELIVERED


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_an_email_goes_over_tls_with_a_login(system, security):
    app, clock = system.app, FakeClock()
    smtp = SmtpReceiver("jobledger", SMTP_PASSWORD, implicit_tls=security == "tls")
    try:
        app.create_channel(
            name="mail",
            type="email",
            config={
                "host": "127.0.0.1",
                "port": smtp.port,
                "security": security,
                "user": "jobledger",
                "from": "jobledger@example.com",
                "to": ["oncall@example.com", "lead@example.com"],
            },
            secrets={"password": SMTP_PASSWORD},
            actor="admin",
        )
        fail_a_run(app, failing_job(app, "mail"))
        senders = {**default_senders(), "email": EmailSender(ssl_context=smtp.client_tls)}
        n = Notifier(app, clock, MemoryPosition(), senders, NotifySettings(), ThreadWakeup())
        [delivery] = drain(n)
        assert delivery.status == DELIVERED, delivery.last_error
        [mail] = smtp.wait_for(1)
        assert mail["Subject"] == "JobLedger: job 'PSA sync' failed"
        assert mail["Message-ID"] == f"<{delivery.id}@jobledger>"
        assert mail["To"] == "oncall@example.com, lead@example.com"
        parts = {part.get_content_type(): part for part in mail.walk()}
        attached = json.loads(parts["application/json"].get_payload(decode=True))
        assert attached["event"] == "failed" and attached["exit_code"] == 2
    finally:
        smtp.close()


def test_a_wrong_smtp_password_is_not_retried_for_ever(system):
    app, clock = system.app, FakeClock()
    smtp = SmtpReceiver("jobledger", SMTP_PASSWORD)
    try:
        app.create_channel(
            name="mail",
            type="email",
            config={"host": "127.0.0.1", "port": smtp.port, "user": "jobledger",
                    "from": "jl@example.com", "to": "oncall@example.com"},
            secrets={"password": "wrong"},
            actor="admin",
        )  # fmt: skip
        fail_a_run(app, failing_job(app, "mail"))
        senders = {"email": EmailSender(ssl_context=smtp.client_tls)}
        n = Notifier(app, clock, MemoryPosition(), senders, NotifySettings(), ThreadWakeup())
        [delivery] = drain(n)
        assert delivery.status == "given_up" and delivery.last_error == "SMTP 535"
        assert smtp.messages == []
    finally:
        smtp.close()


def test_a_test_message_reaches_the_receiver_through_the_running_notifier(system):
    app = system.app
    with webhook_receiver() as receiver:
        channel = app.create_channel(
            name="hooks", type="webhook", config={"url": receiver.url}, secrets=None,
            actor="admin",
        )  # fmt: skip
        handle = start_notifier(app, system.backend, NotifySettings())
        try:
            delivery = app.request_test_notification(
                channel.id, actor="admin", now=FakeClock().now()
            )
            [request] = receiver.wait_for(1)
            assert request.headers["Idempotency-Key"] == str(delivery.id)
            assert json.loads(request.body)["event"] == "test"
        finally:
            handle.stop()


class TwoNotifiers:
    """Two notifiers, each with its own application on the same store (as two processes
    would be), running in threads on the real clock."""

    def store(self, tmp_path: Path) -> StoreSettings:
        raise NotImplementedError

    def test_two_notifiers_send_each_notification_once(self, tmp_path: Path):
        settings = Settings(store=self.store(tmp_path), data_dir=tmp_path / "d", master_key=None)
        first = build(settings, announce=lambda _m: None)
        second = build(settings, announce=lambda _m: None)
        handles = []
        try:
            with webhook_receiver() as receiver:
                first.app.create_channel(
                    name="hooks", type="webhook", config={"url": receiver.url}, secrets=None,
                    actor="admin",
                )  # fmt: skip
                jobs = [failing_job(first.app, "hooks", f"job {i}") for i in range(10)]
                handles = [
                    start_notifier(s.app, s.backend, NotifySettings(), name="pair")
                    for s in (first, second)
                ]
                runs = [fail_a_run(first.app, job) for job in jobs]
                got = receiver.wait_for(10)
                # Let both notifiers settle every delivery, then count again.
                for run_id in runs:
                    _wait_delivered(first.app, run_id)
                got = receiver.received
                assert len(got) == 10
                assert len({r.headers["Idempotency-Key"] for r in got}) == 10
        finally:
            for handle in handles:
                handle.stop()
            second.close()
            first.close()


def _wait_delivered(app: JobLedger, run_id: UUID, timeout: float = 20.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while True:
        found = app.run_notifications(run_id)
        if found and all(d["status"] == DELIVERED for d in found):
            return
        assert time.monotonic() < deadline, f"run {run_id}: {found}"
        time.sleep(0.05)


class TestTwoNotifiersOnSQLite(TwoNotifiers):
    def store(self, tmp_path: Path) -> StoreSettings:
        return sqlite_store(tmp_path)


@pytest.mark.postgres
class TestTwoNotifiersOnPostgreSQL(TwoNotifiers):
    @pytest.fixture(autouse=True)
    def _schema(self, pg_schema: tuple[str, str]) -> None:
        self.url, self.schema = pg_schema

    def store(self, tmp_path: Path) -> StoreSettings:
        return parse_database_url(f"{self.url}?schema={self.schema}")


@pytest.mark.parametrize("kind", ["slack", "teams"])
def test_slack_and_teams_get_their_own_message_formats(system, kind):
    app, clock = system.app, FakeClock()
    with webhook_receiver() as receiver:
        # The incoming-webhook URL carries a credential: given as a secret here.
        app.create_channel(
            name="chat", type=kind, config={}, secrets={"url": receiver.url}, actor="admin"
        )
        run_id = fail_a_run(app, failing_job(app, "chat"))
        n = Notifier(
            app, clock, MemoryPosition(), default_senders(), NotifySettings(), ThreadWakeup()
        )
        [delivery] = drain(n)
        assert delivery.status == DELIVERED
        [request] = receiver.wait_for(1)
        assert request.headers["Idempotency-Key"] == str(delivery.id)
        message = json.loads(request.body)
        if kind == "slack":
            assert message["text"].startswith("*JobLedger: job 'PSA sync' failed*")
            assert f"/runs/{run_id}|Open the run>" in message["text"]
        else:
            assert message["@type"] == "MessageCard"
            assert message["title"] == "JobLedger: job 'PSA sync' failed"
            facts = {f["name"]: f["value"] for f in message["sections"][0]["facts"]}
            assert facts["exit_code"] == "2" and facts["status"] == "failed"
        assert receiver.url not in repr(app.get_delivery(delivery.id).summary())


def test_a_receiver_refusing_with_a_4xx_is_not_retried(system):
    app, clock = system.app, FakeClock()
    with webhook_receiver(410) as receiver:
        app.create_channel(
            name="gone", type="webhook", config={"url": receiver.url}, secrets=None,
            actor="admin",
        )  # fmt: skip
        fail_a_run(app, failing_job(app, "gone"))
        n = Notifier(
            app, clock, MemoryPosition(), default_senders(), NotifySettings(), ThreadWakeup()
        )
        [delivery] = drain(n)
        assert delivery.status == "given_up" and delivery.last_status_code == 410
        clock.advance(3600)
        assert drain(n) == [] and len(receiver.received) == 1
