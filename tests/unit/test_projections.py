"""The projections' fold logic, with fake views that only keep what they are given (no I/O).

Events come from driving the real aggregates, so a change to an event's fields shows here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import Tracking

from domain import run as runs
from domain.errors import InvalidInput
from domain.job import Job, register
from domain.log_level import LogLevel
from domain.run_log import RunLog, open_log
from projections.audit import JOB_EVENTS, AuditChanges, AuditProjection
from projections.base import BatchProjection, BatchView, decode_cursor, encode_cursor, page_size
from projections.jobs import JobChange, JobsChanges, JobsProjection
from projections.logs import LogsChanges, LogsProjection, level_name, min_level_number
from projections.runs import RUN_COLUMNS, RunsChanges, RunsProjection, parse_runs_cursor

CIPHERTEXT = "v1.CIPHERTEXT-THAT-MUST-NEVER-LEAVE-THE-EVENT-STORE"


class FakeView(BatchView):
    """Keeps each applied (changes, tracking), in order."""

    def __init__(self) -> None:
        self.applied: list[tuple[Any, Tracking]] = []

    def apply(self, changes: Any, tracking: Tracking) -> None:
        self.applied.append((changes, tracking))

    def drop(self) -> None:
        self.applied.clear()

    def insert_tracking(self, tracking: Tracking) -> None:
        raise NotImplementedError

    def max_tracking_id(self, application_name: str) -> int | None:
        return self.applied[-1][1].notification_id if self.applied else None


def fold(projection_class: type[BatchProjection[Any]], *events: Any) -> Any:
    """The change set one batch of `events` becomes."""
    view = FakeView()
    projection = projection_class(view=view)  # type: ignore[arg-type]
    projection.process_batch(list(events), Tracking(projection_class.name, 7))
    (changes, tracking), *_ = view.applied
    assert tracking == Tracking(projection_class.name, 7)
    return changes


def new_job(**kwargs: Any) -> Job:
    args: dict[str, Any] = {"name": "nightly", "job_type": "shell", "program": {"cmd": "true"}}
    return register(actor="alice", **{**args, **kwargs})


def new_run(job: Job, **kwargs: Any) -> runs.Run:
    args: dict[str, Any] = {
        "job_id": job.id,
        "job_version": job.version,
        "job_name": job.name,
        "job_type": job.job_type,
        "trigger": "manual",
        "requested_by": "bob",
        "parameters": {},
        "log_level": "Info",
        "timeout_seconds": 60,
    }
    return runs.request(**{**args, **kwargs})


# --- jobs -------------------------------------------------------------------------------


def test_a_job_registered_and_changed_in_one_batch_is_one_whole_row() -> None:
    job = new_job()
    job.rename("nightly-etl", "bob")
    job.store_secret("TOKEN", CIPHERTEXT, "bob")
    job.change_policies({"max_retries": 3}, "carol")
    job.change_log_level("Warning", "carol")
    changes: JobsChanges = fold(JobsProjection, *job.collect_events())

    inserts, updates, deletes = changes.split()
    assert (len(inserts), updates, deletes) == (1, [], [])
    row = inserts[0]
    assert row["id"] == job.id and row["version"] == job.version == 5
    assert row["name"] == "nightly-etl" and row["log_level"] == "Warning"
    assert row["policies"]["max_retries"] == 3 and row["policies"]["overlap"] == "skip"
    assert [s["name"] for s in row["secrets"]] == ["TOKEN"]
    assert row["secrets"][0]["updated_by"] == "bob"
    assert (row["created_by"], row["updated_by"]) == ("alice", "carol")
    assert CIPHERTEXT not in repr(changes)


def test_changes_to_an_existing_job_merge_into_its_row() -> None:
    job = new_job()
    job.store_secret("OLD", CIPHERTEXT, "alice")
    job.store_secret("KEEP", CIPHERTEXT, "alice")
    (before,), _, _ = fold(JobsProjection, *job.collect_events()).split()

    job.remove_secret("OLD", "bob")
    job.store_secret("NEW", CIPHERTEXT, "bob")
    job.change_policies({"timeout_seconds": 30}, "bob")
    job.disable("bob")
    changes: JobsChanges = fold(JobsProjection, *job.collect_events())
    inserts, (change,), deletes = changes.split()
    assert (inserts, deletes) == ([], [])
    assert change.fields == {
        "version": 7,
        "updated_at": change.fields["updated_at"],
        "updated_by": "bob",
        "enabled": False,
    }
    after = change.merge_into(before)
    assert [s["name"] for s in after["secrets"]] == ["KEEP", "NEW"]
    assert after["policies"] == {**before["policies"], "timeout_seconds": 30}
    assert after["enabled"] is False and after["version"] == 7
    assert before["enabled"] is True  # merge_into copies
    assert CIPHERTEXT not in repr(changes)


def test_a_schedule_sets_both_columns_and_unscheduling_clears_them() -> None:
    from domain.schedule import CronSchedule

    job = new_job(schedule=CronSchedule.parse("0 2 * * *", "UTC"))
    (row,), _, _ = fold(JobsProjection, *job.collect_events()).split()
    assert (row["schedule_cron"], row["schedule_timezone"]) == ("0 2 * * *", "UTC")
    job.unschedule("bob")
    _, (change,), _ = fold(JobsProjection, *job.collect_events()).split()
    assert change.merge_into(row)["schedule_cron"] is None


def test_deletion_removes_the_row_and_a_job_born_and_deleted_in_a_batch_leaves_none() -> None:
    job = new_job()
    job.delete("bob")
    assert fold(JobsProjection, *job.collect_events()).split() == ([], [], [])

    other = new_job()
    other.collect_events()
    other.delete("bob")
    assert fold(JobsProjection, *other.collect_events()).split() == ([], [], [other.id])


def test_the_last_run_of_a_batch_carries_its_final_status() -> None:
    job = new_job()
    job.collect_events()
    first, second = new_run(job), new_run(job)
    first.start("w1")
    second.start("w2")
    second.fail(2, "boom")
    first.succeed()  # the older run's status does not show: the newer one is the last
    events = [*first.collect_events(), *second.collect_events()]
    events.sort(key=lambda e: e.timestamp)
    changes: JobsChanges = fold(JobsProjection, *events)
    last = changes.last_runs[job.id]
    assert (last.run_id, last.status) == (second.id, "failed")
    requested = next(e for e in events if e.originator_id == second.id)
    assert last.requested_at == requested.timestamp
    assert changes.run_status == {}


def test_progress_of_a_run_from_an_earlier_batch_is_a_status_by_run_id() -> None:
    job = new_job()
    run = new_run(job)
    run.collect_events()
    run.start("w1")
    run.request_cancel("carol")  # CancelRequested does not change the status
    changes: JobsChanges = fold(JobsProjection, *run.collect_events())
    assert changes.run_status == {run.id: "running"} and changes.last_runs == {}
    run.confirm_cancelled()
    assert fold(JobsProjection, *run.collect_events()).run_status == {run.id: "cancelled"}


# --- runs -------------------------------------------------------------------------------


def test_a_run_requested_and_finished_in_one_batch_is_one_row() -> None:
    job = new_job()
    fire = datetime(2025, 1, 31, 2, tzinfo=UTC)
    run = new_run(job, trigger="schedule", scheduled_for=fire)
    run.start("worker-1")
    run.succeed(0)
    changes: RunsChanges = fold(RunsProjection, *run.collect_events())
    assert changes.patches == {}
    row = changes.new[run.id]
    assert tuple(row) == RUN_COLUMNS  # a whole row: every column
    assert row["status"] == "succeeded" and row["version"] == 3 and row["exit_code"] == 0
    assert row["worker"] == "worker-1" and row["scheduled_for"] == fire
    assert row["started_at"] <= row["finished_at"] and row["requested_at"] <= row["started_at"]


def test_events_of_earlier_runs_are_patches() -> None:
    job = new_job()
    failed, timed_out, skipped = new_run(job), new_run(job), new_run(job)
    for run in (failed, timed_out, skipped):
        run.collect_events()
    failed.start("w")
    failed.fail(1, "exit 1")
    timed_out.start("w")
    timed_out.time_out()
    skipped.skip("overlap")
    events = [*failed.collect_events(), *timed_out.collect_events(), *skipped.collect_events()]
    changes: RunsChanges = fold(RunsProjection, *events)
    assert changes.new == {}
    assert changes.patches[failed.id] == {
        "id": failed.id,
        "version": 3,
        "status": "failed",
        "worker": "w",
        "started_at": changes.patches[failed.id]["started_at"],
        "finished_at": changes.patches[failed.id]["finished_at"],
        "exit_code": 1,
        "error": "exit 1",
        "discarded_entries": 0,
    }
    assert changes.patches[timed_out.id]["error"] == "timed out after 60 s"
    assert changes.patches[skipped.id]["error"] == "overlap"
    rows = {row[-1]: row for row in changes.patch_rows()}
    assert rows[skipped.id][0] == "skipped" and rows[skipped.id][1] is None  # no worker


def test_a_run_row_shows_the_entries_discarded_below_the_threshold() -> None:
    job = new_job()
    whole, patched = new_run(job), new_run(job)
    whole.start("w")
    whole.succeed(0, discarded_entries=4)
    patched.start("w")
    changes: RunsChanges = fold(RunsProjection, *whole.collect_events(), *patched.collect_events())
    assert changes.new[whole.id]["discarded_entries"] == 4
    assert changes.new[patched.id]["discarded_entries"] == 0
    patched.abandon("gone", discarded_entries=7)
    changes = fold(RunsProjection, *patched.collect_events())
    assert changes.patches[patched.id]["discarded_entries"] == 7


def test_runs_cursor_round_trip() -> None:
    at = datetime(2025, 1, 31, 2, 0, 0, 123456, tzinfo=UTC)
    run_id = uuid4()
    assert parse_runs_cursor(encode_cursor(at, str(run_id))) == (at, run_id)


# --- logs -------------------------------------------------------------------------------


def test_log_entries_pass_through_untouched() -> None:
    run_id = uuid4()
    log = open_log(run_id, "Debug")
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    log.record((t0 + timedelta(seconds=i), LogLevel.Info, f"line {i}") for i in range(3))
    log.record([(t0, LogLevel.Error, "kept")])
    events: list[Any] = list(log.collect_events())
    changes: LogsChanges = fold(LogsProjection, *events)
    assert len(changes) == 4
    assert changes.batches[0][0] == log.id
    assert changes.batches[0][1] is events[1].entries  # no copy: the event's own list
    assert changes.batches[1][1] == [[4, "2025-01-01T00:00:00.000000Z", 50, "kept"]]


def test_level_helpers() -> None:
    assert level_name(40) == "Warning" and level_name(45) == "45"
    assert min_level_number("warning") == 40 and min_level_number(None) is None
    with pytest.raises(InvalidInput):
        min_level_number("loud")


# --- audit ------------------------------------------------------------------------------


def test_audit_rows_name_the_job_as_it_was_and_never_hold_a_ciphertext() -> None:
    job = new_job()
    job.store_secret("TOKEN", CIPHERTEXT, "alice")
    job.rename("renamed", "bob")
    job.delete("carol")
    changes: AuditChanges = fold(AuditProjection, *job.collect_events())
    assert [(r["version"], r["event"], r["job_name"], r["actor"]) for r in changes.rows] == [
        (1, "Registered", "nightly", "alice"),
        (2, "SecretStored", "nightly", "alice"),
        (3, "Renamed", "renamed", "bob"),
        (4, "Deleted", "renamed", "carol"),
    ]
    assert changes.rows[1]["changes"] == {"secrets.TOKEN": {"from": None, "to": "(set)"}}
    assert changes.rows[2]["changes"] == {"name": {"from": "nightly", "to": "renamed"}}
    assert changes.unnamed_job_ids() == []
    assert CIPHERTEXT not in repr(changes)


def test_audit_rows_of_a_job_from_an_earlier_batch_wait_for_the_view_to_name_them() -> None:
    job = new_job()
    job.collect_events()
    job.disable("bob")
    job.rename("later", "bob")
    job.enable("bob")
    changes: AuditChanges = fold(AuditProjection, *job.collect_events())
    assert [r["job_name"] for r in changes.rows] == [None, "later", "later"]
    assert changes.unnamed_job_ids() == [job.id]
    changes.resolve_names({job.id: "nightly"})
    assert [r["job_name"] for r in changes.rows] == ["nightly", "later", "later"]


# --- the projections' declarations and shared helpers -----------------------------------


@pytest.mark.parametrize(
    "projection", [JobsProjection, RunsProjection, LogsProjection, AuditProjection]
)
def test_each_projection_names_the_events_it_reads(projection: Any) -> None:
    assert projection.name in ("jobs", "runs", "logs", "audit")
    assert projection.event_classes and all(isinstance(c, type) for c in projection.event_classes)
    assert fold(projection, *open_log(uuid4(), "Info").collect_events()) is not None


def test_every_job_event_is_audited_and_shapes_the_jobs_view() -> None:
    assert len(JOB_EVENTS) == 18 and Job.Registered in JOB_EVENTS
    assert set(JOB_EVENTS) <= set(JobsProjection.event_classes)
    assert RunLog.EntriesRecorded in LogsProjection.event_classes


def test_an_empty_batch_still_records_its_position() -> None:
    view = FakeView()
    JobsProjection(view=view).process_batch([], Tracking("jobs", 12))  # type: ignore[arg-type]
    changes, tracking = view.applied[0]
    assert changes.split() == ([], [], []) and tracking.notification_id == 12


def test_cursors_are_opaque_and_checked() -> None:
    cursor = encode_cursor("name", 3)
    assert decode_cursor(cursor, 2) == ["name", 3]
    for bad in ("", "not a cursor", encode_cursor("a"), encode_cursor(1, 2)):
        with pytest.raises(InvalidInput):
            parse_runs_cursor(bad)
    with pytest.raises(InvalidInput):
        decode_cursor(cursor, 3)


def test_page_size_is_checked_and_capped() -> None:
    assert page_size(10) == 10 and page_size(10**6) == 1000
    for bad in (0, -1, True, "5"):
        with pytest.raises(InvalidInput):
            page_size(bad)  # type: ignore[arg-type]


def test_job_change_without_changes_keeps_the_row() -> None:
    row = {"policies": {"a": 1}, "secrets": [], "name": "x"}
    assert JobChange(uuid4()).merge_into(row) == row
