"""The scheduler with a fake clock and the in-memory store: each slot once, the misfire and
overlap policies with their skipped records, job changes, restart from the watermark."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import takewhile
from typing import Any
from uuid import UUID, uuid4

import pytest

from application.app import JobLedger
from application.firing_commands import JobTemplate, SlotRequest
from domain.run import Run, scheduled_run_id
from domain.schedule import CronSchedule
from scheduler.checkpoint import MemoryCheckpoint
from scheduler.firing import FiringRules
from scheduler.scheduler import Scheduler
from tests.fakes import FakeClock, in_memory_ledger

T0 = datetime(2031, 3, 3, 10, 0, 30, tzinfo=UTC)  # far from the real time events carry


def register(app: JobLedger, cron: str | None = "* * * * *", **policies: Any) -> UUID:
    job = app.register_job(
        name=f"job {cron} {uuid4().hex[:8]}",  # names are unique
        job_type="command",
        program={"argv": ["true"]},
        actor="alice",
        parameters={"p": 1},
        schedule={"cron": cron, "timezone": "UTC"} if cron else None,
        policies=policies or None,
    )
    return job.id


def drive(scheduler: Scheduler, clock: FakeClock, until: datetime) -> None:
    """Run the scheduler's loop as its sleeps would, with time jumping to each fire time."""
    while (due := scheduler.tick()) is not None and due <= until:
        clock.at = due
    clock.at = until
    scheduler.tick()


def scheduled_runs(app: JobLedger, job_id: UUID) -> list[Run]:
    """Every scheduled run of the job in the store, by fire time (read from the log)."""
    runs: dict[UUID, Run] = {}
    for n in app.recorder.select_notifications(start=1, limit=10**7):
        event = app.mapper.to_domain_event(n)
        if isinstance(event, Run.Requested) and event.job_id == job_id:
            runs[event.originator_id] = app.get_run(event.originator_id)
    result = sorted(runs.values(), key=lambda r: r.scheduled_for or T0)
    assert all(r.trigger == "schedule" for r in result)
    return result


def slots(cron: str, after: datetime, until: datetime) -> list[datetime]:
    """The domain's own fire times in (after, until]."""
    return list(takewhile(lambda t: t <= until, CronSchedule(cron).iter_fire_times(after)))


@pytest.fixture
def app() -> JobLedger:
    return in_memory_ledger()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


def test_each_slot_fires_once_with_two_schedulers_side_by_side(app: JobLedger, clock: FakeClock):
    job_id = register(app, "*/5 * * * *", overlap="allow")
    first, second = Scheduler(app, clock), Scheduler(app, clock)
    end = T0 + timedelta(hours=6)
    while True:
        due = min(d for d in (first.tick(), second.tick()) if d is not None)
        if due > end:
            break
        clock.at = due
    runs = scheduled_runs(app, job_id)
    expected = slots("*/5 * * * *", T0, end)
    assert [r.scheduled_for for r in runs] == expected
    assert [r.id for r in runs] == [scheduled_run_id(job_id, t) for t in expected]
    assert all(r.status == "queued" and r.job_version == 1 for r in runs)
    # Both fired every slot; the store let one write each, the other counted a conflict.
    assert first.stats.requested + second.stats.requested == len(expected) == 72
    assert first.stats.already_fired + second.stats.already_fired == len(expected)


def test_a_batch_with_a_slot_already_fired_saves_the_rest_one_by_one(app: JobLedger):
    job_id = register(app, None)
    template = JobTemplate(job_id, 1, "job", "command", {}, "Info", None)
    fired = SlotRequest(template, T0)
    assert app.request_scheduled([fired]).requested == 1
    fresh = SlotRequest(template, T0 + timedelta(minutes=1))
    skipped = SlotRequest(template, T0 + timedelta(minutes=2), "overlap: test")
    result = app.request_scheduled([fired, fresh, skipped])
    assert result.already_fired == [fired.run_id]
    assert [r.id for r in result.saved] == [fresh.run_id, skipped.run_id]
    assert app.get_run(skipped.run_id).status == "skipped"
    assert app.get_run(skipped.run_id).error == "overlap: test"


def test_slots_due_together_are_stored_in_one_transaction(app: JobLedger, clock: FakeClock):
    ids = [register(app, "0 * * * *", overlap="allow") for _ in range(50)]
    notifications: list[int] = []
    app.after_save.append(notifications.append)
    scheduler = Scheduler(app, clock)
    drive(scheduler, clock, T0 + timedelta(hours=1))
    assert scheduler.stats.batches == 1 and scheduler.stats.requested == 50
    assert len(notifications) == 1  # one save: one transaction for all fifty
    assert all(len(scheduled_runs(app, i)) == 1 for i in ids)


def test_restart_resumes_from_the_watermark_without_duplicate_or_hole(
    app: JobLedger, clock: FakeClock
):
    job_id = register(app, "* * * * *", overlap="allow")
    checkpoint = MemoryCheckpoint()
    drive(Scheduler(app, clock, checkpoint), clock, T0 + timedelta(minutes=10))
    # Written after each batch commits: the last one was the 10:10 slot.
    assert checkpoint.handled_until == datetime(2031, 3, 3, 10, 10, tzinfo=UTC)
    # Down for 50 seconds (within the misfire grace): the missed slot fires as usual.
    clock.at = T0 + timedelta(minutes=10, seconds=50)
    restarted = Scheduler(app, clock, checkpoint)
    drive(restarted, clock, T0 + timedelta(minutes=20))
    runs = scheduled_runs(app, job_id)
    assert [r.scheduled_for for r in runs] == slots("* * * * *", T0, T0 + timedelta(minutes=20))
    assert all(r.status == "queued" for r in runs)
    assert restarted.stats.already_fired == 0


def down_for(app: JobLedger, clock: FakeClock, downtime: timedelta, **kwargs: Any) -> Scheduler:
    """Run a scheduler to T0 + 1 min, stop it, and start another after `downtime`."""
    checkpoint = MemoryCheckpoint()
    drive(Scheduler(app, clock, checkpoint), clock, T0 + timedelta(minutes=1))
    clock.at = T0 + timedelta(minutes=1) + downtime
    scheduler = Scheduler(app, clock, checkpoint, **kwargs)
    scheduler.tick()
    return scheduler


def test_misfire_run_once_coalesces_missed_slots_into_the_latest(app: JobLedger, clock: FakeClock):
    job_id = register(app, "0 * * * *", overlap="allow")  # run_once is the default
    down_for(app, clock, timedelta(hours=5, minutes=30))
    runs = scheduled_runs(app, job_id)
    assert [r.scheduled_for.hour for r in runs] == [11, 12, 13, 14, 15]  # type: ignore[union-attr]
    *missed, run = runs
    assert run.status == "queued"
    assert all(r.status == "skipped" for r in missed)
    assert missed[0].error == (
        "missed while the scheduler was down; coalesced into the run for 2031-03-03T15:00:00+00:00"
    )


def test_misfire_run_once_coalesces_into_an_on_time_slot(app: JobLedger, clock: FakeClock):
    job_id = register(app, "*/20 * * * * *", overlap="allow")  # every 20 s
    rules = FiringRules(misfire_grace=timedelta(seconds=15))
    down_for(app, clock, timedelta(minutes=3), rules=rules)  # back at 10:04:30
    restarted_at = clock.at - timedelta(minutes=3)
    after_stop = [r for r in scheduled_runs(app, job_id) if (r.scheduled_for or T0) > restarted_at]
    # 10:04:20 is on time (10 s late): the eight missed slots before it coalesce into it.
    assert [(r.scheduled_for.strftime("%M:%S"), r.status) for r in after_stop] == [  # type: ignore[union-attr]
        *[
            (t, "skipped")
            for t in ["01:40", "02:00", "02:20", "02:40", "03:00", "03:20", "03:40", "04:00"]
        ],
        ("04:20", "queued"),
    ]
    assert after_stop[0].error == (
        "missed while the scheduler was down; coalesced into the run for 2031-03-03T10:04:20+00:00"
    )


def test_misfire_skip_records_every_missed_slot_as_skipped(app: JobLedger, clock: FakeClock):
    job_id = register(app, "0 * * * *", misfire="skip")
    down_for(app, clock, timedelta(hours=3, minutes=30))
    runs = scheduled_runs(app, job_id)
    assert [(r.scheduled_for.hour, r.status) for r in runs] == [  # type: ignore[union-attr]
        (11, "skipped"),
        (12, "skipped"),
        (13, "skipped"),
    ]
    assert {r.error for r in runs} == {"missed while the scheduler was down (misfire policy skip)"}


def test_misfire_run_all_is_capped_and_the_rest_summarised(app: JobLedger, clock: FakeClock):
    job_id = register(app, "* * * * *", misfire="run_all", overlap="allow")
    rules = FiringRules(run_all_cap=5, skip_record_cap=10)
    down_for(app, clock, timedelta(hours=2), rules=rules)
    runs = scheduled_runs(app, job_id)
    # Slot 10:01 fired before the stop. At 12:01:30, 10:02 to 12:00 (119 slots) are past
    # the 60 s grace and 12:01 is on time: the 5 latest missed slots run, the 10 before
    # them get records of their own, the 104 oldest one summary record at the first.
    queued = [r for r in runs if r.status == "queued"][1:]
    skipped = [r for r in runs if r.status == "skipped"]
    assert [r.scheduled_for for r in queued] == [
        T0 + timedelta(minutes=m, seconds=-30) for m in range(116, 122)
    ]
    assert len(skipped) == 11
    summary, *individual = skipped
    assert summary.scheduled_for == T0 + timedelta(minutes=2, seconds=-30)
    assert summary.error == (
        "missed while the scheduler was down; beyond the run_all cap of 5 runs: 104 slots "
        "from 2031-03-03T10:02:00+00:00 to 2031-03-03T11:45:00+00:00 not run"
    )
    assert [r.scheduled_for for r in individual] == [
        T0 + timedelta(minutes=m, seconds=-30) for m in range(106, 116)
    ]
    assert all(r.error == individual[0].error for r in individual)
    assert (
        individual[0].error
        == "missed while the scheduler was down; beyond the run_all cap of 5 runs"
    )


def test_skip_records_are_capped_per_recovery(app: JobLedger, clock: FakeClock):
    job_id = register(app, "* * * * * *", misfire="skip")  # every second
    down_for(app, clock, timedelta(hours=1), rules=FiringRules(skip_record_cap=1_000))
    runs = scheduled_runs(app, job_id)
    # 3,600 slots since the watermark: the 61 in the last minute are on time (one runs, the
    # rest meet the overlap policy); of the 3,539 missed, 1,000 have records of their own.
    missed = [r for r in runs if r.error and r.error.startswith("missed")]
    assert len(missed) == 1_001
    assert missed[0].error == (
        "missed while the scheduler was down (misfire policy skip): 2539 slots from "
        "2031-03-03T10:01:31+00:00 to 2031-03-03T10:43:49+00:00 not run"
    )
    assert all(r.status == "skipped" for r in missed)
    assert len(runs) == 60 + 1_001 + 61  # before the stop, missed, on time


def test_overlap_skip_records_the_slot_naming_the_run_in_the_way(app: JobLedger, clock: FakeClock):
    job_id = register(app, "* * * * *")  # overlap skip is the default
    scheduler = Scheduler(app, clock)
    drive(scheduler, clock, T0 + timedelta(minutes=1))
    (first,) = scheduled_runs(app, job_id)
    drive(scheduler, clock, T0 + timedelta(minutes=2))
    app.start_run(first.id, worker="w1")
    drive(scheduler, clock, T0 + timedelta(minutes=3))
    app.succeed_run(first.id)
    drive(scheduler, clock, T0 + timedelta(minutes=4))
    runs = scheduled_runs(app, job_id)
    assert [(r.status, r.error) for r in runs] == [
        ("succeeded", None),
        ("skipped", f"overlap: run {first.id} still queued"),
        ("skipped", f"overlap: run {first.id} still running"),
        ("queued", None),
    ]


@pytest.mark.parametrize("policy", ["allow", "queue"])
def test_overlap_allow_and_queue_request_every_slot(app: JobLedger, clock: FakeClock, policy: str):
    job_id = register(app, "* * * * *", overlap=policy)
    scheduler = Scheduler(app, clock)
    drive(scheduler, clock, T0 + timedelta(minutes=1))
    app.start_run(scheduled_runs(app, job_id)[0].id, worker="w1")
    drive(scheduler, clock, T0 + timedelta(minutes=3))
    assert [r.status for r in scheduled_runs(app, job_id)] == ["running", "queued", "queued"]


def test_disable_skips_the_queued_run_and_stops_firing_until_enabled(
    app: JobLedger, clock: FakeClock
):
    job_id = register(app, "* * * * *", overlap="allow")
    scheduler = Scheduler(app, clock)
    drive(scheduler, clock, T0 + timedelta(minutes=1))
    app.disable_job(job_id, actor="bob")
    drive(scheduler, clock, T0 + timedelta(minutes=5))
    (run,) = scheduled_runs(app, job_id)
    assert (run.status, run.error) == ("skipped", "job disabled")
    assert scheduler.stats.queued_runs_skipped == 1
    assert [type(e).__name__ for e in app.job_history(job_id)][-1] == "Disabled"
    app.enable_job(job_id, actor="bob")
    drive(scheduler, clock, T0 + timedelta(minutes=7))
    runs = scheduled_runs(app, job_id)
    assert [r.scheduled_for for r in runs[1:]] == [
        T0 + timedelta(minutes=6, seconds=-30),
        T0 + timedelta(minutes=7, seconds=-30),
    ]


def test_a_started_run_is_not_skipped_when_its_job_is_disabled(app: JobLedger, clock: FakeClock):
    job_id = register(app, "* * * * *")
    scheduler = Scheduler(app, clock)
    drive(scheduler, clock, T0 + timedelta(minutes=1))
    (run,) = scheduled_runs(app, job_id)
    app.start_run(run.id, worker="w1")
    app.disable_job(job_id, actor="bob")
    drive(scheduler, clock, T0 + timedelta(minutes=2))
    assert app.get_run(run.id).status == "running"


def test_delete_skips_the_queued_run_and_fires_no_more(app: JobLedger, clock: FakeClock):
    job_id = register(app, "* * * * *")
    scheduler = Scheduler(app, clock)
    drive(scheduler, clock, T0 + timedelta(minutes=1))
    app.delete_job(job_id, actor="bob")
    drive(scheduler, clock, T0 + timedelta(minutes=5))
    (run,) = scheduled_runs(app, job_id)
    assert (run.status, run.error) == ("skipped", "job deleted")
    assert job_id not in scheduler.index.jobs


def test_unschedule_stops_firing_and_a_new_schedule_counts_from_the_change(
    app: JobLedger, clock: FakeClock
):
    job_id = register(app, "* * * * *", overlap="allow")
    scheduler = Scheduler(app, clock)
    drive(scheduler, clock, T0 + timedelta(minutes=2))
    app.update_job(job_id, {"schedule": None}, actor="bob")
    drive(scheduler, clock, T0 + timedelta(minutes=30))
    assert len(scheduled_runs(app, job_id)) == 2
    app.update_job(job_id, {"schedule": {"cron": "*/10 * * * *"}}, actor="bob")  # at 10:30:30
    drive(scheduler, clock, T0 + timedelta(minutes=60))
    fired = [r.scheduled_for for r in scheduled_runs(app, job_id)]
    assert fired[2:] == [T0 + timedelta(minutes=m, seconds=-30) for m in (40, 50, 60)]


def test_a_schedule_change_mid_flight_moves_the_next_fire_time(app: JobLedger, clock: FakeClock):
    job_id = register(app, "0 * * * *", overlap="allow")
    scheduler = Scheduler(app, clock)
    drive(scheduler, clock, T0 + timedelta(minutes=5))
    assert scheduler.index.jobs[job_id].next_fire == datetime(2031, 3, 3, 11, tzinfo=UTC)
    app.update_job(job_id, {"schedule": {"cron": "15 * * * *"}}, actor="bob")
    drive(scheduler, clock, T0 + timedelta(minutes=5))
    assert scheduler.index.jobs[job_id].next_fire == datetime(2031, 3, 3, 10, 15, tzinfo=UTC)
    drive(scheduler, clock, datetime(2031, 3, 3, 12, tzinfo=UTC))
    assert [r.scheduled_for.minute for r in scheduled_runs(app, job_id)] == [15, 15]  # type: ignore[union-attr]


def test_runs_carry_the_job_as_it_is_when_they_fire(app: JobLedger, clock: FakeClock):
    job_id = register(app, "0 * * * *", overlap="allow")
    scheduler = Scheduler(app, clock)
    drive(scheduler, clock, T0 + timedelta(minutes=5))
    app.update_job(
        job_id,
        {"name": "renamed", "parameters": {"p": 2}, "log_level": "Debug", "timeout_seconds": 9},
        actor="bob",
    )
    app.update_job(job_id, {"program": {"argv": ["false"]}}, actor="bob")
    drive(scheduler, clock, T0 + timedelta(hours=1))
    (run,) = scheduled_runs(app, job_id)
    job = app.get_job(job_id)
    assert (run.job_version, run.job_name, run.parameters) == (job.version, "renamed", {"p": 2})
    assert (run.log_level, run.timeout_seconds, run.requested_by) == ("Debug", 9, "scheduler")


def test_a_policy_change_applies_from_the_next_slot(app: JobLedger, clock: FakeClock):
    job_id = register(app, "* * * * *")
    scheduler = Scheduler(app, clock)
    drive(scheduler, clock, T0 + timedelta(minutes=2))
    app.update_job(job_id, {"overlap": "allow"}, actor="bob")
    drive(scheduler, clock, T0 + timedelta(minutes=3))
    assert [r.status for r in scheduled_runs(app, job_id)] == ["queued", "skipped", "queued"]


def test_a_restarted_scheduler_rebuilds_its_index_from_the_log(app: JobLedger, clock: FakeClock):
    kept = register(app, "0 * * * *", overlap="allow")
    gone = register(app, "0 * * * *")
    paused = register(app, "0 * * * *")
    app.delete_job(gone, actor="bob")
    app.disable_job(paused, actor="bob")
    app.update_job(
        kept, {"schedule": {"cron": "30 * * * *", "timezone": "Europe/London"}}, actor="bob"
    )
    scheduler = Scheduler(app, clock)
    scheduler.start()
    assert set(scheduler.index.jobs) == {kept, paused}
    job = scheduler.index.jobs[kept]
    assert (job.version, job.schedule) == (2, CronSchedule("30 * * * *", "Europe/London"))
    assert scheduler.index.next_due() == datetime(2031, 3, 3, 10, 30, tzinfo=UTC)


def test_jobs_with_one_schedule_share_one_parsed_schedule(app: JobLedger, clock: FakeClock):
    ids = [register(app, "*/7 * * * *") for _ in range(3)]
    scheduler = Scheduler(app, clock)
    scheduler.start()
    first, *rest = (scheduler.index.jobs[i].schedule for i in ids)
    assert all(s is first for s in rest)


def test_firing_rules_refuse_nonsense():
    with pytest.raises(ValueError, match="misfire_grace"):
        FiringRules(misfire_grace=timedelta(seconds=-1))
    with pytest.raises(ValueError, match="cap"):
        FiringRules(run_all_cap=0)


def test_a_scheduler_that_lost_the_race_reads_the_log_instead_of_writing_each_slot(
    app: JobLedger, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
):
    ids = [register(app, "0 * * * *", overlap="allow") for _ in range(20)]
    first, second = Scheduler(app, clock), Scheduler(app, clock)
    first.start()
    second.start()
    due = datetime(2031, 3, 3, 11, tzinfo=UTC)
    clock.at = due
    first.fire(due)  # the winner; the loser has not read its batch yet
    attempts: list[int] = []  # writes tried in the store, by number of events
    insert = app.recorder.insert_events

    def counting_insert(events: Any, **kwargs: Any) -> Any:
        attempts.append(len(events))
        return insert(events, **kwargs)

    monkeypatch.setattr(app.recorder, "insert_events", counting_insert)
    result = second.fire(due)
    assert result is not None and not result.saved
    assert len(result.already_fired) == 20
    assert attempts == [20]  # one batch refused whole, then one read of the log
    assert all(len(scheduled_runs(app, i)) == 1 for i in ids)
    # Once read, those slots are known as fired and not even tried again.
    second.index.jobs[ids[0]].next_fire = due
    second.index.push(second.index.jobs[ids[0]])
    second.fire(due)
    assert attempts == [20] and second.stats.already_fired == 21


def test_requests_prepared_before_the_fire_time_are_used_unless_the_job_changed(
    app: JobLedger, clock: FakeClock
):
    kept = register(app, "0 * * * *", overlap="allow")
    changed = register(app, "0 * * * *", overlap="allow")
    scheduler = Scheduler(app, clock)
    scheduler.start()
    due = datetime(2031, 3, 3, 11, tzinfo=UTC)
    assert scheduler.prepare(due) == 2
    prepared = dict(scheduler._prepared)
    app.update_job(changed, {"name": "renamed meanwhile"}, actor="bob")
    drive(scheduler, clock, due)
    (kept_run,) = scheduled_runs(app, kept)
    (changed_run,) = scheduled_runs(app, changed)
    assert kept_run.id == prepared[kept].run_id and kept_run.job_version == 1
    assert (changed_run.job_name, changed_run.job_version) == ("renamed meanwhile", 2)
    assert scheduler._prepared == {}


def test_the_jobs_due_next_are_found_without_scanning_the_heap(app: JobLedger, clock: FakeClock):
    hourly = [register(app, "0 * * * *") for _ in range(40)]
    later = [register(app, "0 0 * * *") for _ in range(40)]
    scheduler = Scheduler(app, clock)
    scheduler.start()
    index = scheduler.index
    due = index.next_due()
    assert due == datetime(2031, 3, 3, 11, tzinfo=UTC)
    moved = index.jobs[hourly[0]]
    index.plan(moved, due)  # re-planned: its old entry at `due` is now stale
    found = index.due_at(due, limit=1_000)
    assert {j.job_id for j in found} == set(hourly[1:])
    assert len(index.due_at(due, limit=5)) == 5
    assert not set(later) & {j.job_id for j in found}
