"""The retention sweep survives a crash between its steps: a run's `LogPurged` always carries
the count of the log that was there, and no log is deleted without one. The store is an
in-memory fake whose deletion (or the event's save) fails once, as a killed process would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from application.app import JobLedger
from application.ports import RetentionCandidate
from application.retention import RetentionSweep
from domain.log_level import LogLevel
from domain.retention import RetentionPolicy
from domain.run import Run
from tests.fakes import FakeClock, in_memory_ledger


class Crash(Exception):
    """Stands for the process dying at this point."""


class FakeRetentionStore:
    """The sweep's view of a store: runs with a log of so many entries, and marks."""

    def __init__(self) -> None:
        self.logs: dict[UUID, int] = {}
        self.finished: dict[UUID, tuple[UUID, datetime]] = {}
        self.marks: dict[UUID, int] = {}  # open marks
        self.closed: set[UUID] = set()
        self.purged = 0
        self.crash_in_purge = False

    def add(self, run: Run, entries: int) -> None:
        assert run.finished_at is not None
        self.logs[run.id] = entries
        self.finished[run.id] = (run.job_id, run.finished_at)

    def job_ids(self) -> list[UUID]:
        return sorted({job for job, _ in self.finished.values()})

    def candidates(
        self, job_id: UUID, *, log_before: datetime, run_before: datetime, limit: int
    ) -> list[RetentionCandidate]:
        # As the runs view: a run whose LogPurged is recorded is no longer a log candidate.
        return [
            RetentionCandidate(run_id, at, False)
            for run_id, (job, at) in self.finished.items()
            if job == job_id and at < log_before and run_id in self.logs
        ][:limit]

    def newest_finished(self, job_id: UUID, count: int) -> set[UUID]:
        return set()

    def count_log(self, run_id: UUID) -> int:
        return self.logs.get(run_id, 0)

    def log_settled(self, run_id: UUID) -> bool:
        return True

    def mark_purge(self, run_id: UUID, entries: int) -> None:
        if run_id not in self.closed:
            self.marks.setdefault(run_id, entries)

    def pending_purges(self) -> list[UUID]:
        return list(self.marks)

    def purge_log(self, run_id: UUID) -> int | None:
        if self.crash_in_purge:
            self.crash_in_purge = False
            raise Crash("killed before the deletion")
        removed = self.logs.pop(run_id, 0)
        if run_id in self.marks:
            self.purged += self.marks.pop(run_id)
            self.closed.add(run_id)
        return removed

    def reclaim(self) -> None:
        pass

    def store_bytes(self) -> int:
        return 0

    def purged_entries(self) -> int:
        return self.purged

    def log_page(self, run_id: UUID, after: int, limit: int) -> list[tuple[int, str, int, str]]:
        return []

    def close(self) -> None:
        pass


def finished_run(app: JobLedger, job_id: UUID, lines: int) -> Run:
    run = app.request_run(job_id, actor="alice")
    log = app.open_run_log(run)
    now = datetime.now(UTC)
    app.record_log_entries(log, [(now, LogLevel.Info, f"line {i}") for i in range(lines)])
    app.start_run(run.id, worker="w1")
    return app.succeed_run(run.id)


def log_purged(app: JobLedger, run_id: UUID) -> list[Run.LogPurged]:
    events = [app.mapper.to_domain_event(e) for e in app.recorder.select_events(run_id)]
    return [e for e in events if isinstance(e, Run.LogPurged)]


@pytest.fixture
def app() -> JobLedger:
    return in_memory_ledger()


@pytest.fixture
def store(app: JobLedger) -> FakeRetentionStore:
    return FakeRetentionStore()


def sweep_of(app: JobLedger, store: FakeRetentionStore) -> RetentionSweep:
    clock = FakeClock(datetime.now(UTC) + timedelta(days=2))
    return RetentionSweep(app, store, clock, RetentionPolicy(log_days=1))


def test_a_crash_after_the_event_is_finished_by_the_next_sweep_with_the_count_kept(
    app: JobLedger, store: FakeRetentionStore
) -> None:
    job = app.register_job(name="j", job_type="command", program={"argv": ["true"]}, actor="a")
    run = finished_run(app, job.id, 7)
    store.add(run, 7)
    store.crash_in_purge = True
    with pytest.raises(Crash):
        sweep_of(app, store).run()
    # Recorded with the count read before anything went; the log still there, marked.
    assert [e.entries for e in log_purged(app, run.id)] == [7]
    assert store.logs == {run.id: 7} and store.marks == {run.id: 7}

    report = sweep_of(app, store).run()  # a new process after the restart
    assert report.resumed == 1 and report.runs == []
    assert store.logs == {} and store.marks == {} and store.purged == 7
    assert [e.entries for e in log_purged(app, run.id)] == [7]  # recorded once
    assert sweep_of(app, store).run().resumed == 0


def test_a_crash_before_the_event_leaves_the_log_whole_and_the_run_is_purged_again(
    app: JobLedger, store: FakeRetentionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = app.register_job(name="j", job_type="command", program={"argv": ["true"]}, actor="a")
    run = finished_run(app, job.id, 4)
    store.add(run, 4)
    save = app.save

    def dies(*args: object, **kwargs: object) -> object:
        raise Crash("killed before the event was saved")

    monkeypatch.setattr(app, "save", dies)
    with pytest.raises(Crash):
        sweep_of(app, store).run()
    monkeypatch.setattr(app, "save", save)
    assert log_purged(app, run.id) == [] and store.logs == {run.id: 4}  # nothing lost

    report = sweep_of(app, store).run()
    assert report.resumed == 0  # the mark's run has no LogPurged: not finished as such...
    assert [(r.run_id, r.entries) for r in report.runs] == [(run.id, 4)]  # ...purged anew
    assert [e.entries for e in log_purged(app, run.id)] == [4]
    assert store.logs == {} and store.marks == {} and store.purged == 4
