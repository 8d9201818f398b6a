from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from domain.errors import Conflict, InvalidInput, NotFound
from domain.log_level import LogLevel
from domain.run import scheduled_run_id
from tests.fakes import in_memory_ledger

COMMAND = {"argv": ["true"]}
FIRE = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture
def ledger():
    app = in_memory_ledger()
    yield app
    app.close()


@pytest.fixture
def job(ledger):
    return ledger.register_job(
        name="Sync",
        job_type="command",
        program=COMMAND,
        actor="alice",
        parameters={"tenant": "acme", "batch": 10},
        log_level="Warning",
        policies={"timeout_seconds": 60},
    )


def test_a_run_records_the_job_version_and_effective_parameters(ledger, job):
    ledger.update_job(job.id, {"name": "Sync v2"}, actor="alice")
    run = ledger.request_run(job.id, actor="bob", parameters={"batch": 99}, override_any=True)
    stored = ledger.get_run(run.id)
    assert stored.status == "queued"
    assert stored.job_version == 2
    assert stored.trigger == "manual"
    assert stored.parameters == {"tenant": "acme", "batch": 99}
    assert stored.overrides == ["batch"]
    assert stored.log_level == "Warning"
    assert stored.timeout_seconds == 60
    assert ledger.job_for_run(stored).name == "Sync v2"


def test_a_run_without_overrides_names_none(ledger, job):
    run = ledger.request_run(job.id, actor="bob")
    assert ledger.get_run(run.id).overrides == []


def test_a_request_stored_before_overrides_were_recorded_still_loads(ledger, job):
    import orjson

    from adapters.orjson_transcoder import OrjsonTranscoder, TypedMapper
    from domain.run import Run

    mapper = TypedMapper(transcoder=OrjsonTranscoder())
    run = ledger.request_run(job.id, actor="bob")
    stored = mapper.to_stored_event(next(iter(ledger.repository.event_store.get(run.id))))
    state = orjson.loads(stored.state)
    del state["overrides"]  # what a request stored by an older version holds
    old = stored.__class__(**{**stored.__dict__, "state": orjson.dumps(state)})
    loaded = mapper.to_domain_event(old).mutate(None)
    assert isinstance(loaded, Run)
    assert loaded.overrides == [] and loaded.parameters == {"tenant": "acme", "batch": 10}


def test_parameter_overrides_must_be_an_object(ledger, job):
    with pytest.raises(InvalidInput) as caught:
        ledger.request_run(job.id, actor="bob", parameters=[1, 2])
    assert caught.value.field == "parameters"


def test_a_scheduled_slot_fires_once_by_construction(ledger, job):
    run = ledger.request_run(job.id, actor="scheduler", trigger="schedule", scheduled_for=FIRE)
    assert run.id == scheduled_run_id(job.id, FIRE)
    same_instant_elsewhere = FIRE.astimezone(ZoneInfo("America/New_York"))
    with pytest.raises(Conflict):
        ledger.request_run(
            job.id, actor="scheduler", trigger="schedule", scheduled_for=same_instant_elsewhere
        )


def test_only_one_worker_claims_a_run(ledger, job):
    run = ledger.request_run(job.id, actor="bob")
    ledger.start_run(run.id, worker="w1")
    with pytest.raises(Conflict):
        ledger.start_run(run.id, worker="w2")
    assert ledger.get_run(run.id).worker == "w1"


def test_a_stale_copy_loses_the_claim_race(ledger, job):
    run = ledger.request_run(job.id, actor="bob")
    first, second = ledger.get_run(run.id), ledger.get_run(run.id)
    first.start("w1")
    second.start("w2")
    ledger.save(first)
    with pytest.raises(Conflict):
        ledger._save(second)


@pytest.mark.parametrize(
    ("finish", "status"),
    [
        (lambda app, rid: app.succeed_run(rid, exit_code=0), "succeeded"),
        (lambda app, rid: app.fail_run(rid, exit_code=3, error="boom"), "failed"),
        (lambda app, rid: app.time_out_run(rid), "timed_out"),
        (lambda app, rid: app.abandon_run(rid, reason="worker died"), "abandoned"),
    ],
)
def test_a_running_run_ends_once(ledger, job, finish, status):
    run = ledger.request_run(job.id, actor="bob")
    ledger.start_run(run.id, worker="w1")
    finish(ledger, run.id)
    assert ledger.get_run(run.id).status == status
    with pytest.raises(Conflict):
        ledger.succeed_run(run.id)


def test_cancelling_a_queued_run_cancels_it_at_once(ledger, job):
    run = ledger.request_run(job.id, actor="bob")
    ledger.cancel_run(run.id, actor="carol")
    stored = ledger.get_run(run.id)
    assert stored.status == "cancelled"
    assert stored.cancel_requested_by == "carol"


def test_cancelling_a_running_run_asks_its_worker(ledger, job):
    run = ledger.request_run(job.id, actor="bob")
    ledger.start_run(run.id, worker="w1")
    ledger.cancel_run(run.id, actor="carol")
    assert ledger.get_run(run.id).status == "running"
    ledger.confirm_cancelled(run.id)
    assert ledger.get_run(run.id).status == "cancelled"


def test_the_log_keeps_entries_at_or_above_the_threshold_in_batches(ledger, job):
    # The threshold is applied by the worker's sink; the log refuses what is below it
    # (issue 8), where it used to drop it: the whole batch is refused, nothing recorded.
    run = ledger.request_run(job.id, actor="bob")
    log = ledger.open_run_log(run)
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    with pytest.raises(ValueError):
        ledger.record_log_entries(log, [(now, LogLevel.Verbose, "noise")])
    kept = ledger.record_log_entries(
        log,
        [
            (now, LogLevel.Warning, "slow API"),
            (now, LogLevel.Error, "failed"),
        ],
    )
    assert kept == 2
    with pytest.raises(ValueError):
        ledger.record_log_entries(log, [(now, LogLevel.Debug, "dropped")])
    ledger.record_log_entries(log, [(now, LogLevel.Error, "again")])
    events = list(ledger.events.get(log.id))
    entries = [entry for event in events[1:] for entry in event.entries]
    assert [(e[0], e[3]) for e in entries] == [(1, "slow API"), (2, "failed"), (3, "again")]
    assert len(events) == 3  # opened + two batches: never one event per line
    assert ledger.run_log(run.id).entry_count == 3


def test_runs_of_unknown_jobs_are_not_found(ledger):
    from uuid import uuid4

    with pytest.raises(NotFound):
        ledger.request_run(uuid4(), actor="bob")


def test_a_huge_batch_is_split_into_bounded_events(ledger, job):
    from domain.run_log import MAX_EVENT_CHARS

    run = ledger.request_run(job.id, actor="bob")
    log = ledger.open_run_log(run)
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    message = "x" * 10_000
    count = 3 * MAX_EVENT_CHARS // len(message)
    assert ledger.record_log_entries(log, [(now, LogLevel.Error, message)] * count) == count
    events = list(ledger.events.get(log.id))[1:]
    assert len(events) == 3
    assert all(sum(len(e[3]) for e in ev.entries) <= MAX_EVENT_CHARS for ev in events)
    seqs = [e[0] for ev in events for e in ev.entries]
    assert seqs == list(range(1, count + 1))
