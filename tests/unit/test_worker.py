"""The engine with fake executors and a fake clock, on the in-memory event store."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from application.ports import ThreadWakeup
from domain.errors import Conflict
from domain.log_level import LogLevel
from domain.run import retry_run_id
from engine.worker import STARTUP_ABANDON_REASON, Worker
from jobtypes import Execution, LogSink, Outcome, StopSignal
from tests.fakes import FakeClock, in_memory_ledger

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WAIT = 10.0  # seconds a test waits for a pool thread before it fails


class Scripted:
    """An executor that logs given lines and returns a given outcome."""

    def __init__(
        self, outcome: Outcome | None = None, lines: list[tuple[LogLevel, str]] | None = None
    ) -> None:
        self.outcome = outcome or Outcome(0)
        self.lines = lines or []
        self.executions: list[Execution] = []

    def execute(self, execution: Execution, log: LogSink, stop: StopSignal) -> Outcome:
        self.executions.append(execution)
        for level, message in self.lines:
            log(level, message)
        return self.outcome


class Blocking:
    """An executor that runs until stopped (or released), like a long program."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.stopped_with: list[str | None] = []
        self.order: list[UUID] = []

    def execute(self, execution: Execution, log: LogSink, stop: StopSignal) -> Outcome:
        self.order.append(execution.run_id)
        self.started.set()
        while not stop.wait(0.01):
            if self.release.is_set():
                return Outcome(0)
        self.stopped_with.append(stop.reason)
        return Outcome(exit_code=-15, error="killed by SIGTERM")


@pytest.fixture
def app():
    ledger = in_memory_ledger()
    yield ledger
    ledger.close()


@pytest.fixture
def clock():
    return FakeClock()


def make_worker(app, clock, executor, **kwargs) -> Worker:
    worker = Worker(
        app,
        executor_for=lambda _name: executor,
        clock=clock,
        wakeup=ThreadWakeup(),
        worker_id=kwargs.pop("worker_id", "w1"),
        **kwargs,
    )
    return worker


def register(app, **policies):
    return app.register_job(
        name=f"Sync {uuid4().hex[:8]}",  # names are unique
        job_type="command",
        program={"argv": ["sync"]},
        actor="alice",
        parameters={"tenant": "acme"},
        log_level=policies.pop("log_level", "Info"),
        policies=policies,
    )


def finish(worker: Worker) -> None:
    assert worker.wait_idle(WAIT), "the worker did not finish its runs"


def test_a_claimed_run_executes_with_its_job_version_and_succeeds(app, clock):
    job = register(app)
    app.store_secret(job.id, "API_KEY", "s3cr3t-value", actor="alice")
    run = app.request_run(job.id, actor="bob", parameters={"batch": 5}, override_any=True)
    app.update_job(job.id, {"program": {"argv": ["newer"]}}, actor="alice")
    executor = Scripted()
    worker = make_worker(app, clock, executor)
    worker.step()
    finish(worker)
    stored = app.get_run(run.id)
    assert stored.status == "succeeded" and stored.worker == "w1" and stored.exit_code == 0
    (execution,) = executor.executions
    assert execution.program == {"argv": ["sync"]}  # the version the run recorded
    assert execution.parameters == {"tenant": "acme", "batch": 5}
    assert execution.secrets == {"API_KEY": "s3cr3t-value"}
    assert execution.log_level is LogLevel.Info and execution.attempt == 1


def test_a_run_claimed_by_another_worker_is_not_started_twice(app, clock):
    job = register(app)
    run = app.request_run(job.id, actor="bob")
    first, second = Blocking(), Scripted()
    w1 = make_worker(app, clock, first, worker_id="w1")
    w2 = make_worker(app, clock, second, worker_id="w2")
    w1.read_events()
    w2.read_events()
    w1.dispatch(clock.now())
    assert first.started.wait(WAIT)
    w2.dispatch(clock.now())  # its board still says queued: the claim must lose
    assert w2.wait_idle(WAIT)
    assert second.executions == [] and w2.lost_claims == 1
    first.release.set()
    finish(w1)
    assert app.get_run(run.id).worker == "w1"


@pytest.mark.parametrize(
    ("outcome", "status", "exit_code", "error"),
    [
        (Outcome(0), "succeeded", 0, None),
        (Outcome(3, "last error line"), "failed", 3, "last error line"),
        (Outcome(0, "exited 0 but reported an error"), "failed", 0, "exited 0 but reported"),
        (Outcome(None, "cannot start: no such file"), "failed", None, "cannot start"),
    ],
)
def test_the_outcome_decides_the_final_event(app, clock, outcome, status, exit_code, error):
    run = app.request_run(register(app).id, actor="bob")
    worker = make_worker(app, clock, Scripted(outcome))
    worker.step()
    finish(worker)
    stored = app.get_run(run.id)
    assert (stored.status, stored.exit_code) == (status, exit_code)
    assert (stored.error or None) == error or error in (stored.error or "")


def test_an_executor_that_raises_fails_the_run_not_the_worker(app, clock):
    class Broken:
        def execute(self, execution, log, stop):
            raise RuntimeError("executor bug")

    run = app.request_run(register(app).id, actor="bob")
    worker = make_worker(app, clock, Broken())
    worker.step()
    finish(worker)
    stored = app.get_run(run.id)
    assert stored.status == "failed" and "executor bug" in stored.error


def test_a_run_past_its_timeout_is_stopped_and_recorded_timed_out(app, clock):
    run = app.request_run(register(app, timeout_seconds=30).id, actor="bob")
    executor = Blocking()
    worker = make_worker(app, clock, executor)
    worker.step()
    assert executor.started.wait(WAIT)
    clock.advance(29)
    worker.step()
    assert worker.active_runs() == [run.id]  # not yet
    assert worker.seconds_until_next() == pytest.approx(1.0)
    clock.advance(1)
    worker.step()
    finish(worker)
    assert executor.stopped_with == ["timeout"]
    stored = app.get_run(run.id)
    assert stored.status == "timed_out" and stored.error == "timed out after 30 s"


def test_a_cancel_request_stops_the_running_program(app, clock):
    run = app.request_run(register(app).id, actor="bob")
    executor = Blocking()
    worker = make_worker(app, clock, executor)
    worker.step()
    assert executor.started.wait(WAIT)
    app.cancel_run(run.id, actor="carol")
    worker.step()  # reads CancelRequested
    finish(worker)
    assert executor.stopped_with == ["cancel"]
    stored = app.get_run(run.id)
    assert stored.status == "cancelled"


def test_entries_below_the_threshold_never_reach_the_log(app, clock):
    job = register(app, log_level="Warning")
    run = app.request_run(job.id, actor="bob")
    lines = [(level, f"{level.name} line") for level in LogLevel]
    worker = make_worker(app, clock, Scripted(lines=lines))
    worker.step()
    finish(worker)
    log = app.run_log(run.id)
    assert log.entry_count == 2
    events = [e for e in app.repository.event_store.get(log.id) if hasattr(e, "entries")]
    assert [entry[3] for e in events for entry in e.entries] == ["Warning line", "Error line"]


def test_secrets_are_masked_in_log_lines_and_in_the_error(app, clock):
    job = register(app)
    app.store_secret(job.id, "TOKEN", "hunter2-very-secret", actor="alice")
    run = app.request_run(job.id, actor="bob")
    lines = [(LogLevel.Info, "calling with token=hunter2-very-secret ok")]
    worker = make_worker(app, clock, Scripted(Outcome(1, "bad hunter2-very-secret"), lines))
    worker.step()
    finish(worker)
    stored = app.get_run(run.id)
    assert stored.error == "bad ***"
    events = [e for e in app.repository.event_store.get(app.run_log(run.id).id)]
    text = repr([getattr(e, "entries", None) for e in events])
    assert "hunter2" not in text and "token=*** ok" in text


def test_a_failed_run_is_retried_with_growing_backoff_and_linked_attempts(app, clock):
    job = register(app, max_retries=2, retry_backoff_seconds=10)
    first = app.request_run(job.id, actor="bob", parameters={"batch": 7}, override_any=True)
    app.update_job(job.id, {"parameters": {"tenant": "other"}}, actor="alice")
    executor = Scripted(Outcome(1, "boom"))
    worker = make_worker(app, clock, executor)
    worker.step()
    finish(worker)
    second_id = retry_run_id(first.id, 2)
    second = app.get_run(second_id)
    assert second.trigger == "retry" and second.retry_of == first.id and second.attempt == 2
    assert second.parameters == {"tenant": "acme", "batch": 7}  # the failed run's parameters
    assert second.scheduled_for == T0 + timedelta(seconds=10)
    # Not before its time.
    clock.advance(9)
    worker.step()
    assert app.get_run(second_id).status == "queued"
    assert worker.seconds_until_next() == pytest.approx(1.0)
    clock.advance(1)
    worker.step()
    finish(worker)
    third = app.get_run(retry_run_id(second_id, 3))
    assert third.attempt == 3 and third.retry_of == second_id
    assert third.scheduled_for == T0 + timedelta(seconds=10 + 20)  # doubled
    clock.advance(20)
    worker.step()
    finish(worker)
    assert app.get_run(third.id).status == "failed"
    assert app.retry_run_for(third.id) is None  # max_retries=2: three attempts in all
    assert [e.attempt for e in executor.executions] == [1, 2, 3]


def test_a_timed_out_run_is_retried_too(app, clock):
    job = register(app, timeout_seconds=5, max_retries=1, retry_backoff_seconds=0)
    run = app.request_run(job.id, actor="bob")
    executor = Blocking()
    worker = make_worker(app, clock, executor)
    worker.step()
    assert executor.started.wait(WAIT)
    clock.advance(5)
    worker.step()
    finish(worker)
    assert app.get_run(retry_run_id(run.id, 2)).status == "queued"


def test_queue_overlap_runs_a_jobs_runs_one_at_a_time_in_request_order(app, clock):
    job = register(app, overlap="queue")
    runs = []
    for _ in range(3):
        runs.append(app.request_run(job.id, actor="bob"))
        clock.advance(1)
    other = app.request_run(register(app).id, actor="bob")
    executor = Blocking()
    worker = make_worker(app, clock, executor, concurrency=4)
    worker.step()
    assert executor.started.wait(WAIT)
    assert sorted(worker.active_runs()) == sorted([runs[0].id, other.id])
    for expected in runs[1:]:
        executor.release.set()
        finish(worker)
        executor.release.clear()
        worker.step()
        assert worker.active_runs() == [expected.id]
    executor.release.set()
    finish(worker)
    assert [app.get_run(r.id).status for r in runs] == ["succeeded"] * 3
    queued_order = [r for r in executor.order if r != other.id]
    assert queued_order == [r.id for r in runs]


def test_concurrency_bounds_the_runs_executing_at_once(app, clock):
    job = register(app, overlap="allow")
    runs = [app.request_run(job.id, actor="bob") for _ in range(5)]
    executor = Blocking()
    worker = make_worker(app, clock, executor, concurrency=2)
    worker.step()
    worker.step()
    assert len(worker.active_runs()) == 2
    executor.release.set()
    for _ in range(5):
        finish(worker)
        worker.step()
    finish(worker)
    assert [app.get_run(r.id).status for r in runs] == ["succeeded"] * 5
    assert worker.claimed == 5


def test_runs_left_running_are_abandoned_at_start_up_and_retried(app, clock):
    job = register(app, max_retries=1, retry_backoff_seconds=60)
    run = app.request_run(job.id, actor="bob")
    app.start_run(run.id, worker="dead-worker")
    worker = make_worker(app, clock, Scripted(), abandon_running_at_start=True)
    worker.start_up()
    stored = app.get_run(run.id)
    assert stored.status == "abandoned" and stored.error == STARTUP_ABANDON_REASON
    retry = app.retry_run_for(run.id)
    assert retry is not None and retry.scheduled_for == T0 + timedelta(seconds=60)


def test_a_run_no_longer_queued_is_passed_over(app, clock):
    job = register(app)
    run = app.request_run(job.id, actor="bob")
    worker = make_worker(app, clock, Scripted())
    worker.read_events()
    app.skip_run(run.id, reason="job disabled")  # behind the worker's back
    worker.dispatch(clock.now())
    finish(worker)
    assert app.get_run(run.id).status == "skipped"
    assert worker.lost_claims == 1


class FakeLeases:
    """Leases in memory: `gone` names the workers whose lease expired past its grace; while
    `reachable` is False every call fails as a partitioned database would."""

    def __init__(self, gone: set[str]) -> None:
        self.gone = gone
        self.held: str | None = None
        self.reachable = True
        self.renewals = 0

    def _check(self) -> None:
        if not self.reachable:
            raise ConnectionError("the store cannot be reached")

    def hold(self, worker_id: str) -> None:
        self._check()
        self.held = worker_id

    def renew(self) -> None:
        self._check()
        assert self.held is not None
        self.renewals += 1

    def expired(self, worker_ids) -> set[str]:
        self._check()
        return {w for w in worker_ids if w in self.gone and w != self.held}

    def release(self) -> None:
        self.held = None


def test_the_reaper_abandons_only_the_runs_of_gone_workers(app, clock):
    job = register(app, overlap="allow")
    dead = app.request_run(job.id, actor="bob")
    alive = app.request_run(job.id, actor="bob")
    app.start_run(dead.id, worker="gone-1")
    app.start_run(alive.id, worker="alive-1")
    leases = FakeLeases({"gone-1"})
    worker = make_worker(app, clock, Scripted(), leases=leases)
    worker.step()
    assert leases.held == "w1"
    assert app.get_run(dead.id).status == "abandoned"
    assert "gone-1 stopped responding" in app.get_run(dead.id).error
    assert app.get_run(alive.id).status == "running"


def test_the_reaper_abandons_nothing_while_it_cannot_tell_who_is_alive(app, clock):
    job = register(app, overlap="allow")
    dead = app.request_run(job.id, actor="bob")
    app.start_run(dead.id, worker="gone-1")
    leases = FakeLeases({"gone-1"})
    worker = make_worker(app, clock, Scripted(), leases=leases, reap_interval=0)
    worker.step()
    assert app.get_run(dead.id).status == "abandoned"
    other = app.request_run(job.id, actor="bob")
    app.start_run(other.id, worker="gone-1")
    leases.reachable = False
    worker.step()
    assert app.get_run(other.id).status == "running"  # the lease table is out of reach
    leases.reachable = True
    worker.step()
    assert app.get_run(other.id).status == "abandoned"


def test_a_worker_that_cannot_renew_its_lease_stops_its_runs_and_takes_none_until_it_can(
    app, clock
):
    job = register(app, max_retries=1, retry_backoff_seconds=0)
    run = app.request_run(job.id, actor="bob")
    executor = Blocking()
    leases = FakeLeases(set())
    # A short lease, so the fence (three quarters of it unrenewed) comes within a second.
    worker = make_worker(app, clock, executor, leases=leases, lease=timedelta(seconds=0.6))
    try:
        worker.step()
        assert executor.started.wait(WAIT)
        leases.reachable = False  # a partition: every renewal fails from now on
        finish(worker)
        assert executor.stopped_with == ["fenced"]
        stored = app.get_run(run.id)
        assert stored.status == "abandoned" and "before its lease ran out" in stored.error
        retry_id = retry_run_id(run.id, 2)
        executor.started.clear()
        worker.step()
        assert worker.active_runs() == []  # fenced: it claims nothing
        assert app.get_run(retry_id).status == "queued"
        leases.reachable = True
        deadline = time.monotonic() + WAIT
        while not executor.started.wait(0.05):
            assert time.monotonic() < deadline, "the worker never took runs again"
            worker.step()
        assert executor.order == [run.id, retry_id]
    finally:
        executor.release.set()
        worker.stop(grace=WAIT)


def test_a_run_whose_end_could_not_be_recorded_is_abandoned_by_its_own_worker(
    app, clock, monkeypatch
):
    run = app.request_run(register(app).id, actor="bob")

    def unreachable(*_args, **_kwargs):
        raise RuntimeError("the store is unreachable")

    class LosesTheStore(Scripted):
        def execute(self, execution, log, stop):
            monkeypatch.setattr(app.recorder, "insert_events", unreachable)
            return super().execute(execution, log, stop)

    worker = make_worker(app, clock, LosesTheStore())
    worker.record_retry_delays = (0.0,)
    worker.step()
    finish(worker)
    assert app.get_run(run.id).status == "running"  # its end was lost with the store
    monkeypatch.undo()
    clock.advance(worker.reap_interval)
    worker.step()  # the worker is alive: no other reaper would ever take this run
    stored = app.get_run(run.id)
    assert stored.status == "abandoned" and "could not record" in (stored.error or "")


def test_a_store_error_on_saving_a_runs_end_is_retried_from_the_store(app, clock, monkeypatch):
    job = register(app, max_retries=1, retry_backoff_seconds=0)
    run = app.request_run(job.id, actor="bob")
    lines = [(LogLevel.Info, "working"), (LogLevel.Error, "went wrong")]
    worker = make_worker(app, clock, Scripted(Outcome(3, "boom"), lines))
    end_runs = app.end_runs

    def fails_once(*args, **kwargs):
        monkeypatch.setattr(app, "end_runs", end_runs)
        raise RuntimeError("connection reset")

    monkeypatch.setattr(app, "end_runs", fails_once)
    worker.step()
    finish(worker)
    stored = app.get_run(run.id)
    assert stored.status == "failed" and stored.exit_code == 3  # its real outcome
    assert app.run_log(run.id).entry_count == 2
    assert app.get_run(retry_run_id(run.id, 2)).status == "queued"  # retried as its job says


def test_a_runs_end_stored_despite_a_store_error_is_not_recorded_twice(app, clock, monkeypatch):
    run = app.request_run(register(app).id, actor="bob")
    worker = make_worker(app, clock, Scripted(lines=[(LogLevel.Info, "done")]))
    end_runs = app.end_runs

    def commits_then_fails(*args, **kwargs):
        end_runs(*args, **kwargs)
        raise RuntimeError("connection reset after the commit")

    monkeypatch.setattr(app, "end_runs", commits_then_fails)
    worker.step()
    finish(worker)
    assert app.get_run(run.id).status == "succeeded"
    assert app.run_log(run.id).entry_count == 1  # the last lines were not written again


def test_stop_abandons_what_does_not_finish_within_the_grace(app, clock):
    run = app.request_run(register(app).id, actor="bob")
    executor = Blocking()
    worker = make_worker(app, clock, executor)
    worker.step()
    assert executor.started.wait(WAIT)
    worker.stop(grace=0.01)
    assert executor.stopped_with == ["shutdown"]
    assert app.get_run(run.id).status == "abandoned"


def test_endings_saved_together_fall_back_one_by_one_when_a_run_moved_on(app, clock):
    from application.run_commands import Ending, RunEnding

    job = register(app, overlap="allow")
    first = app.request_run(job.id, actor="bob")
    second = app.request_run(job.id, actor="bob")
    worker = make_worker(app, clock, Scripted())
    worker.read_events()
    requests = [worker.board.runs[r.id].request for r in (first, second)]
    held = app.claim_runs(requests, worker="w1")
    assert [app.get_run(r.id).status for r in held] == ["running", "running"]
    app.cancel_run(second.id, actor="carol")  # moves the second run's version on
    line = (T0, LogLevel.Info, "done")
    endings = [
        RunEnding(run, Ending.SUCCEEDED, exit_code=0, log=app.open_run_log(run), entries=[line])
        for run in held
    ]
    with pytest.raises(Conflict):
        app.end_runs(endings, retry_now=T0)
    assert app.get_run(first.id).status == "running"  # nothing of the batch was saved
    for ending in endings:
        worker._recorder.save_alone(ending, False)
    assert [app.get_run(r.id).status for r in held] == ["succeeded", "succeeded"]
    assert [app.run_log(r.id).entry_count for r in held] == [1, 1]


def test_a_batch_claim_that_loses_a_race_claims_one_by_one(app, clock):
    job = register(app, overlap="allow")
    runs = [app.request_run(job.id, actor="bob") for _ in range(3)]
    executor = Scripted()
    worker = make_worker(app, clock, executor, concurrency=3)
    worker.read_events()
    app.start_run(runs[1].id, worker="other")  # another worker won this one
    worker.dispatch(clock.now())
    finish(worker)
    assert {e.run_id for e in executor.executions} == {runs[0].id, runs[2].id}
    assert worker.lost_claims == 1
    assert app.get_run(runs[1].id).worker == "other"


def test_a_run_cancelled_while_being_claimed_never_starts_its_program(app, clock):
    run = app.request_run(register(app).id, actor="bob")
    executor = Scripted()
    looked_up, go_on = threading.Event(), threading.Event()

    def executor_for(_name):
        looked_up.set()
        assert go_on.wait(WAIT)
        return executor

    worker = Worker(
        app, executor_for=executor_for, clock=clock, wakeup=ThreadWakeup(), worker_id="w1"
    )
    worker.step()
    assert looked_up.wait(WAIT)  # claimed, about to start the program
    app.cancel_run(run.id, actor="carol")
    worker.read_events()
    go_on.set()
    finish(worker)
    assert executor.executions == []
    assert app.get_run(run.id).status == "cancelled"


class SnapshotView:
    """A runs view as of a position: what start-up reads instead of the whole history."""

    def __init__(self, position: int, running: list[dict], queued: list[dict]) -> None:
        self.position, self.running, self.queued = position, running, queued

    def max_tracking_id(self, name: str) -> int:
        assert name == "runs"
        return self.position

    def running_runs(self) -> list[dict]:
        return self.running

    def list_runs(self, *, status: str, limit: int, cursor: str | None):
        assert status == "queued"
        start = int(cursor or 0)
        page = self.queued[start : start + limit]
        more = start + limit < len(self.queued)
        return page, str(start + limit) if more else None


def test_start_up_reads_the_runs_view_then_only_the_events_after_its_position(app, clock):
    job = register(app, overlap="allow")
    old = app.request_run(job.id, actor="bob")
    app.start_run(old.id, worker="gone-1")
    unseen = app.request_run(job.id, actor="bob")  # before the position, left out of the rows
    position = app.recorder.max_notification_id()
    newer = app.request_run(job.id, actor="bob")
    # The view as of `position`: `old` running, and a row the events never had. What the
    # worker knows before the position comes from the rows alone: no replay of history.
    phantom = {
        "id": __import__("uuid").uuid4(), "job_id": job.id, "job_version": 1,
        "status": "queued", "requested_at": T0, "scheduled_for": None,
    }  # fmt: skip
    view = SnapshotView(
        position,
        running=[{"id": old.id, "job_id": job.id, "worker": "gone-1", "started_at": T0}],
        queued=[phantom],
    )
    worker = make_worker(app, clock, Blocking(), runs_view=view, concurrency=4)
    worker.start_up()
    assert worker.board.runs[old.id].status == "running"
    assert worker.board.runs[old.id].worker == "gone-1"
    assert worker.board.runs[newer.id].status == "queued"  # from the events after it
    assert phantom["id"] in worker.board.runs
    assert unseen.id not in worker.board.runs


def test_events_are_read_page_by_page_after_a_position_and_only_of_the_topics_asked(app):
    from eventsourcing.utils import get_topic

    from application.event_reader import pages_after
    from domain.run import Run

    job = register(app)
    runs = [app.request_run(job.id, actor="bob") for _ in range(5)]
    topics = [get_topic(Run.Requested)]
    pages = list(pages_after(app, 0, topics, page_size=2))
    assert [len(events) for events, _ in pages] == [2, 2, 1]
    assert [e.originator_id for events, _ in pages for e in events] == [r.id for r in runs]
    last = pages[1][1]
    assert [e.originator_id for events, _ in pages_after(app, last, topics, 2) for e in events] == [
        runs[4].id
    ]
    assert list(pages_after(app, pages[-1][1], topics, 2)) == []


def test_entries_below_the_threshold_are_counted_on_the_runs_final_event(app, clock):
    from dataclasses import replace

    from domain.run import Run

    run = app.request_run(register(app, log_level="Info").id, actor="bob")
    lines = [(LogLevel.Verbose, "v"), (LogLevel.Debug, "d"), (LogLevel.Info, "i")]
    worker = make_worker(app, clock, Scripted(lines=lines))
    worker.step()
    finish(worker)
    assert app.run_log(run.id).entry_count == 1  # only Info was recorded
    final = list(app.events.get(run.id))[-1]
    assert isinstance(final, Run.Succeeded) and final.discarded_entries == 2
    assert app.get_run(run.id).discarded_entries == 2  # replayed from the stored events
    # An ending stored before the count existed still decodes, as 0.
    stored = app.mapper.to_stored_event(final)
    state = app.mapper.transcoder.decode(stored.state)
    del state["discarded_entries"]
    old = app.mapper.to_domain_event(replace(stored, state=app.mapper.transcoder.encode(state)))
    assert old.discarded_entries == 0
