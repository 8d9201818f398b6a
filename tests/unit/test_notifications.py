"""Notification decisions with fakes: rules, repeats suppressed, recoveries, retries with
backoff on a fake clock, delivery claimed by one notifier, channels' names and secrets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from application.app import JobLedger
from application.channel_commands import ChannelNameTaken
from application.notification_commands import NotifySettings
from application.ports import ThreadWakeup
from domain.delivery import DELIVERED, GIVEN_UP, PENDING, Delivery
from domain.errors import InvalidInput
from notifier.notifier import Notifier
from notifier.ports import MemoryPosition, Outgoing, SendResult
from tests.fakes import FakeClock, FakeVault, in_memory_ledger

COMMAND = {"argv": ["true"]}


class RecordingSender:
    """Answers with the results it is given, in turn (then success), and keeps what it got."""

    def __init__(self, *results: SendResult) -> None:
        self.results = list(results)
        self.sent: list[Outgoing] = []

    def send(self, outgoing: Outgoing) -> SendResult:
        self.sent.append(outgoing)
        return self.results.pop(0) if self.results else SendResult(True, status_code=200)


@pytest.fixture
def ledger() -> Iterator[JobLedger]:
    app = in_memory_ledger()
    yield app
    app.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def channel(ledger: JobLedger, name: str = "on-call", **secrets: str) -> Any:
    return ledger.create_channel(
        name=name,
        type="webhook",
        config={"url": "http://127.0.0.1:9/hook"},
        secrets=secrets or None,
        actor="admin",
    )


def job(ledger: JobLedger, notify: list[dict[str, Any]], name: str = "Nightly sync") -> UUID:
    registered = ledger.register_job(
        name=name,
        job_type="command",
        program=COMMAND,
        actor="admin",
        policies={"notify": notify},
    )
    return registered.id


def notifier(
    ledger: JobLedger, clock: FakeClock, sender: RecordingSender, **settings: Any
) -> Notifier:
    return Notifier(
        ledger,
        clock,
        MemoryPosition(),
        {"webhook": sender},
        NotifySettings(**settings),
        ThreadWakeup(),
        parallel=1,
    )


def drain(n: Notifier) -> list[Delivery]:
    """One pass, with the due attempts made in this thread (no pool)."""
    n.decide()
    n.check_long_running()
    n.check_silence()
    n.track()
    attempted = []
    now = n.clock.now()
    for ident, due in sorted(n.pending().items(), key=lambda item: item[1]):
        if due <= now:
            delivery = n.attempt(ident)
            if delivery is not None:
                attempted.append(delivery)
    return attempted


def run_ending(ledger: JobLedger, job_id: UUID, outcome: str) -> UUID:
    run = ledger.request_run(job_id, actor="admin")
    if outcome == "missed":
        ledger.skip_run(run.id, reason="overlap: the previous run is still going")
        return run.id
    ledger.start_run(run.id, worker="w1")
    if outcome == "succeeded":
        ledger.succeed_run(run.id)
    elif outcome == "failed":
        ledger.fail_run(run.id, exit_code=3, error="boom: token ****")
    elif outcome == "timed_out":
        ledger.time_out_run(run.id)
    return run.id


def test_a_failure_notifies_its_channel_with_the_documented_payload(ledger, clock):
    target = channel(ledger)
    job_id = job(ledger, [{"channel": "on-call", "on": ["failed"]}])
    sender = RecordingSender()
    run_id = run_ending(ledger, job_id, "failed")
    [delivery] = drain(notifier(ledger, clock, sender, base_url="https://jl.example"))
    assert delivery.status == DELIVERED and delivery.channel_id == target.id
    [sent] = sender.sent
    payload = sent.payload
    assert sent.idempotency_key == str(delivery.id) == payload["id"]
    assert payload["event"] == "failed" and payload["status"] == "failed"
    assert payload["job_id"] == str(job_id) and payload["job_name"] == "Nightly sync"
    assert payload["run_id"] == str(run_id) and payload["trigger"] == "manual"
    assert payload["exit_code"] == 3 and payload["error"] == "boom: token ****"
    assert payload["run_url"] == f"https://jl.example/runs/{run_id}"
    assert payload["duration_seconds"] is not None and payload["started_at"]


def test_a_job_failing_every_minute_alerts_once_then_on_recovery_with_the_count(ledger, clock):
    channel(ledger)
    job_id = job(ledger, [{"channel": "on-call", "on": ["failed", "recovered"]}])
    sender = RecordingSender()
    n = notifier(ledger, clock, sender)
    for _ in range(30):
        run_ending(ledger, job_id, "failed")
        drain(n)
        clock.advance(60)
    run_ending(ledger, job_id, "succeeded")
    drain(n)
    events = [(s.payload["event"], s.payload["failures"]) for s in sender.sent]
    assert events == [("failed", 1), ("recovered", 30)]


def test_a_failure_streak_alerts_again_after_the_window_with_the_failures_kept_quiet(ledger, clock):
    channel(ledger)
    job_id = job(ledger, [{"channel": "on-call", "on": ["failed"]}])
    sender = RecordingSender()
    n = notifier(ledger, clock, sender, window=timedelta(minutes=10))
    for _ in range(12):
        run_ending(ledger, job_id, "failed")
        drain(n)
        clock.advance(60)
    # Alerts at minute 0 and minute 10; the nine failures between were suppressed.
    assert [s.payload["suppressed"] for s in sender.sent] == [0, 9]


def test_success_alone_notifies_only_who_asked_for_succeeded(ledger, clock):
    channel(ledger)
    job_id = job(ledger, [{"channel": "on-call", "on": ["failed", "recovered"]}])
    sender = RecordingSender()
    run_ending(ledger, job_id, "succeeded")
    assert drain(notifier(ledger, clock, sender)) == []


def test_the_default_rule_applies_to_jobs_without_rules(ledger, clock):
    channel(ledger, "ops")
    job_id = job(ledger, [])
    sender = RecordingSender()
    run_ending(ledger, job_id, "timed_out")
    rules = [{"channel": "ops", "on": ["timed_out"]}]
    drain(notifier(ledger, clock, sender, default_rules=rules))
    assert [s.payload["event"] for s in sender.sent] == ["timed_out"]


def test_a_skipped_slot_is_missed_and_repeats_are_suppressed(ledger, clock):
    channel(ledger)
    job_id = job(ledger, [{"channel": "on-call", "on": ["missed"]}])
    sender = RecordingSender()
    n = notifier(ledger, clock, sender)
    run_ending(ledger, job_id, "missed")
    run_ending(ledger, job_id, "missed")
    drain(n)
    assert [s.payload["event"] for s in sender.sent] == ["missed"]


def test_failed_attempts_are_retried_with_exponential_backoff_until_delivered(ledger, clock):
    channel(ledger)
    job_id = job(ledger, [{"channel": "on-call", "on": ["failed"]}])
    sender = RecordingSender(
        SendResult(False, 500, "HTTP 500"), SendResult(False, None, "no answer within 10 s")
    )
    n = notifier(ledger, clock, sender)
    run_ending(ledger, job_id, "failed")
    [first] = drain(n)
    assert first.status == PENDING and first.last_status_code == 500
    assert first.next_attempt_at == clock.now() + timedelta(seconds=10)
    assert drain(n) == []  # not due yet
    clock.advance(10)
    [second] = drain(n)
    assert second.next_attempt_at == clock.now() + timedelta(seconds=20)
    clock.advance(20)
    [third] = drain(n)
    assert third.status == DELIVERED and third.attempts == 3
    clock.advance(3600)
    assert drain(n) == [] and len(sender.sent) == 3  # never again once acknowledged
    assert len({s.idempotency_key for s in sender.sent}) == 1


def test_a_refusal_gives_up_at_once_and_a_day_of_failures_gives_up_too(ledger, clock):
    channel(ledger)
    job_id = job(ledger, [{"channel": "on-call", "on": ["failed", "timed_out"]}])
    refusing = RecordingSender(SendResult(False, 410, "HTTP 410", permanent=True))
    n = notifier(ledger, clock, refusing)
    run_ending(ledger, job_id, "failed")
    [gone] = drain(n)
    assert gone.status == GIVEN_UP
    down = RecordingSender(*[SendResult(False, 503, "HTTP 503")] * 100)
    n = notifier(ledger, clock, down)
    n.decide()  # the first notifier's position was its own
    clock.advance(7200)  # outside the suppression window
    run_ending(ledger, job_id, "timed_out")
    attempts = 0
    while True:
        done = drain(n)
        attempts += len(done)
        if done and done[-1].status == GIVEN_UP:
            break
        clock.advance(3600)
        assert attempts < 100
    assert 20 <= attempts <= 40  # about a day of exponential then hourly retries


def test_two_notifiers_decide_and_send_each_notification_once(ledger, clock):
    channel(ledger)
    job_id = job(ledger, [{"channel": "on-call", "on": ["failed"]}])
    sender_a, sender_b = RecordingSender(), RecordingSender()
    a, b = notifier(ledger, clock, sender_a), notifier(ledger, clock, sender_b)
    run_ending(ledger, job_id, "failed")
    a.decide()
    b.decide()
    a.track()
    b.track()
    [ident] = a.pending()
    claimed_a = ledger.claim_delivery(ident, owner="a", now=clock.now(), lease=a.lease)
    assert claimed_a is not None
    assert b.attempt(ident) is None  # a's lease holds
    assert sender_b.sent == []
    clock.advance(a.lease.total_seconds() + 1)  # a died mid-send: b takes over after the lease
    assert b.attempt(ident) is not None and len(sender_b.sent) == 1


def test_a_long_running_run_notifies_once_its_threshold_passes(ledger, clock):
    channel(ledger)
    job_id = ledger.register_job(
        name="Slow",
        job_type="command",
        program=COMMAND,
        actor="admin",
        policies={"notify": [{"channel": "on-call", "on": ["long_running"]}],
                  "long_running_seconds": 1},
    ).id  # fmt: skip
    sender = RecordingSender()
    n = notifier(ledger, clock, sender)
    run = ledger.request_run(job_id, actor="admin")
    ledger.start_run(run.id, worker="w1")
    drain(n)
    assert sender.sent == []
    clock.at = ledger.get_run(run.id).started_at + timedelta(seconds=2)
    drain(n)
    assert [s.payload["event"] for s in sender.sent] == ["long_running"]


def test_rules_naming_an_unknown_event_are_refused_naming_the_field(ledger):
    with pytest.raises(InvalidInput) as refused:
        job(ledger, [{"channel": "on-call", "on": ["failed", "exploded"]}])
    assert refused.value.field == "notify.0.on.1"
    with pytest.raises(InvalidInput) as refused:
        job(ledger, [{"channel": "on-call", "on": ["failed"], "when": "always"}])
    assert refused.value.field == "notify.0.when"


def test_channel_names_are_unique_and_freed_by_deletion(ledger):
    first = channel(ledger)
    with pytest.raises(ChannelNameTaken):
        channel(ledger, " ON-CALL ")
    ledger.delete_channel(first.id, actor="admin")
    assert channel(ledger).id != first.id


def test_channel_secrets_are_encrypted_under_the_channels_key_and_shredded_on_delete(ledger):
    created = channel(ledger, signing_secret="s3cret-value")
    events = ledger.repository.event_store.get(created.id)
    assert "s3cret-value" not in repr([e.__dict__ for e in events])
    assert ledger.channel_secrets(created) == {"signing_secret": "s3cret-value"}
    ledger.delete_channel(created.id, actor="admin")
    vault = ledger.vault
    assert isinstance(vault, FakeVault) and created.id in vault.shredded


def test_channel_config_is_checked_per_type_naming_the_field(ledger):
    with pytest.raises(InvalidInput) as refused:
        ledger.create_channel(
            name="mail", type="email", config={"host": "smtp", "from": "x"}, secrets=None,
            actor="admin",
        )  # fmt: skip
    assert refused.value.field == "config.from"
    with pytest.raises(InvalidInput) as refused:
        ledger.create_channel(
            name="hook", type="webhook", config={}, secrets={"password": "x"}, actor="admin"
        )
    assert refused.value.field == "secrets.password"
    with pytest.raises(InvalidInput) as refused:
        ledger.create_channel(name="x", type="pager", config={}, secrets=None, actor="admin")
    assert refused.value.field == "type"
    assert ledger.list_channels() == []


class FakeJobsView:
    """The jobs view as the notifier reads it: rows given by the test, in one page."""

    def __init__(self, *rows: dict[str, Any]) -> None:
        self.rows = list(rows)

    def list_jobs(
        self, *, limit: int = 50, cursor: str | None = None, enabled: bool | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        return [r for r in self.rows if enabled is None or r["enabled"] == enabled], None


class FakeRunningRuns:
    def __init__(self, *runs: dict[str, Any]) -> None:
        self.runs = list(runs)

    def running_runs(self) -> list[dict[str, Any]]:
        return self.runs


def test_a_scheduled_job_that_did_not_run_is_missed_once_per_slot(ledger, clock):
    channel(ledger)
    hourly = ledger.register_job(
        name="Hourly",
        job_type="command",
        program=COMMAND,
        actor="admin",
        schedule={"cron": "0 * * * *"},
        policies={"notify": [{"channel": "on-call", "on": ["missed"]}]},
    )
    quiet = job(ledger, [{"channel": "on-call", "on": ["failed"]}], name="Quiet")
    last = clock.now().replace(minute=0, second=0)
    row = {"enabled": True, "schedule": {"cron": "0 * * * *", "timezone": "UTC"},
           "last_run_at": last, "created_at": last, "updated_at": last}  # fmt: skip
    rules = {"policies": {"notify": [{"channel": "on-call", "on": ["missed"]}]}}
    views = FakeJobsView(
        {**row, **rules, "id": hourly.id},
        {**row, "policies": {"notify": [{"channel": "on-call", "on": ["failed"]}]}, "id": quiet},
    )
    sender = RecordingSender()
    n = notifier(ledger, clock, sender)
    n.jobs = views
    clock.at = last + timedelta(hours=1, minutes=4)  # within the grace: not yet
    drain(n)
    assert sender.sent == []
    clock.at = last + timedelta(hours=1, minutes=6)
    drain(n)
    [sent] = sender.sent
    assert sent.payload["event"] == "missed" and sent.payload["job_id"] == str(hourly.id)
    assert sent.payload["scheduled_for"] == (last + timedelta(hours=1)).isoformat()
    assert sent.payload["run_url"].endswith(f"/jobs/{hourly.id}")
    clock.advance(120)
    drain(n)
    assert len(sender.sent) == 1  # the same slot is decided once


def test_a_run_already_running_when_the_notifier_starts_is_still_watched(ledger, clock):
    channel(ledger)
    slow = ledger.register_job(
        name="Slow",
        job_type="command",
        program=COMMAND,
        actor="admin",
        policies={"notify": [{"channel": "on-call", "on": ["long_running"]}],
                  "long_running_seconds": 60},
    )  # fmt: skip
    run = ledger.request_run(slow.id, actor="admin")
    ledger.start_run(run.id, worker="w1")
    sender = RecordingSender()
    # A restarted notifier: its position is past the run's start.
    n = Notifier(
        ledger,
        clock,
        MemoryPosition(ledger.recorder.max_notification_id() or 0),
        {"webhook": sender},
        NotifySettings(),
        ThreadWakeup(),
        running=FakeRunningRuns({"id": run.id, "job_id": slow.id}),
    )
    clock.at = ledger.get_run(run.id).started_at + timedelta(seconds=61)
    drain(n)
    assert [s.payload["event"] for s in sender.sent] == ["long_running"]


def test_a_jobs_alert_state_loads_from_two_events_as_a_full_replay_would(ledger, clock):
    channel(ledger)
    job_id = job(ledger, [{"channel": "on-call", "on": ["failed", "recovered"]}])
    n = notifier(ledger, clock, RecordingSender(), window=timedelta(minutes=5))
    for outcome in ["failed"] * 7 + ["succeeded"] + ["failed"] * 3:
        run_ending(ledger, job_id, outcome)
        drain(n)
        clock.advance(60)
    from domain.job_alerts import job_alerts_id

    replayed = ledger.repository.get(job_alerts_id(job_id))
    restored = ledger.job_alerts(job_id)
    assert restored is not None and restored.version == replayed.version == 12
    assert restored._state() == replayed._state()
    assert (restored.failing, restored.streak, restored.suppressed) == (True, 3, 2)


def test_a_storm_of_1000_failing_runs_in_a_minute_alerts_once_per_job_per_window(ledger, clock):
    channel(ledger)
    jobs = [job(ledger, [{"channel": "on-call", "on": ["failed"]}], f"storm {i}") for i in range(5)]
    sender = RecordingSender()
    n = notifier(ledger, clock, sender)  # the default one-hour window
    for i in range(1000):  # 1,000 failures over 60 s, the jobs taking turns
        run_ending(ledger, jobs[i % len(jobs)], "failed")
        clock.advance(0.06)
        if i % 100 == 99:
            drain(n)  # the notifier keeps up as it goes
    drain(n)
    assert sorted(s.payload["job_name"] for s in sender.sent) == [f"storm {i}" for i in range(5)]
    # The next failure of each job after the window alerts again, counting those kept quiet.
    clock.advance(3600)
    for job_id in jobs:
        run_ending(ledger, job_id, "failed")
    drain(n)
    assert [s.payload["suppressed"] for s in sender.sent[5:]] == [199] * 5
