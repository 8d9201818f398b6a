"""The engine: a worker that claims queued runs, executes them and records what happened.

One `Worker` per process (or per application, in tests) with a pool of `concurrency`
threads. Its loop follows the Run events of the notification log into a `RunBoard` (which
runs are queued, which run where), wakes on a wake-up (the application's after-save
listeners in one process, PostgreSQL's LISTEN/NOTIFY across processes) or at the next time
something falls due (a retry's not-before time, a timeout, a reaper pass), and claims ready
runs by appending `Started` at their next version: of workers racing for a run one wins, the
others get Conflict and move on.

Each claimed run executes in a pool thread through the job type's `Executor`, with a
`RunLogSink` (threshold, redaction, batching) and a `StopSignal` the loop sets on timeout or
cancel. The outcome becomes the run's last event; a failure, timeout or abandonment whose
job allows retries requests the next attempt in the same transaction.

Commits, not work, bound a worker's throughput (each is an fsync under the event store's
table lock), so the runs the loop can take at once are claimed in one transaction, and the
ends of runs that finish together are recorded in one (`worker_endings`); a batch that
conflicts falls back to one run at a time.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.utils import get_topic

from application.app import JobLedger
from application.ports import Clock
from application.run_commands import RunEnding
from domain.errors import Conflict, JobLedgerError, NotFound
from domain.job import Job
from domain.log_level import LogLevel
from domain.run import Run
from scheduler.dispatch import BOARD_EVENTS, BoardRun, RunBoard
from scheduler.log_pipeline import RunLogSink
from scheduler.ports import Execution, Executor, Outcome, StopSignal
from scheduler.redaction import Redactor
from scheduler.worker_endings import EndingBatcher

logger = logging.getLogger("jobledger.worker")

STARTUP_ABANDON_REASON = "worker stopped; found at start-up"
# The stop reason the worker uses for its own shutdown (besides "timeout" and "cancel"):
# the run is recorded abandoned and retried if its job says so.
SHUTDOWN = "shutdown"
JOB_CACHE_SIZE = 1024


class Wakeup(Protocol):
    """What the loop sleeps on (projections.follower.ThreadWakeup, adapters PostgresWakeup)."""

    def wait(self, timeout: float) -> None: ...

    def set(self) -> None: ...


class Liveness(Protocol):
    """How workers tell a dead worker from a live one (PostgreSQL: session advisory locks)."""

    def hold(self, worker_id: str) -> None:
        """Announce this worker alive until `release` (or until its process dies)."""
        ...

    def is_gone(self, worker_id: str) -> bool:
        """Whether the worker with this id no longer holds its liveness."""
        ...

    def check(self) -> None:
        """Make sure we still hold our own liveness (take it again after a lost session)."""
        ...

    def release(self) -> None: ...


def new_worker_id() -> str:
    """Unique per process start: a restarted worker never inherits a dead one's runs."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Active:
    """A run this worker has claimed (or is claiming) and not yet finished."""

    run_id: UUID
    stop: StopSignal = field(default_factory=StopSignal)
    deadline: datetime | None = None
    sink: RunLogSink | None = None
    claimed: bool = False


class Worker:
    """Claims and executes runs; see the module docstring."""

    def __init__(
        self,
        app: JobLedger,
        *,
        executor_for: Callable[[str], Executor],
        clock: Clock,
        wakeup: Wakeup,
        worker_id: str | None = None,
        concurrency: int = 4,
        liveness: Liveness | None = None,
        runs_view: Any = None,
        abandon_running_at_start: bool = False,
        poll_interval: float = 5.0,
        reap_interval: float = 3.0,
        page_size: int = 1000,
        log_batch: dict[str, Any] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.app = app
        self.executor_for = executor_for
        self.clock = clock
        self.wakeup = wakeup
        self.id = worker_id or new_worker_id()
        self.concurrency = concurrency
        self.liveness = liveness
        self.runs_view = runs_view
        self.abandon_running_at_start = abandon_running_at_start
        self.poll_interval = poll_interval
        self.reap_interval = reap_interval
        self.page_size = page_size
        self.log_batch = log_batch or {}
        self.board = RunBoard()
        self.position = 0
        self._topics = [get_topic(cls) for cls in BOARD_EVENTS]
        self._active: dict[UUID, Active] = {}
        self._lock = threading.RLock()
        self._jobs: OrderedDict[tuple[UUID, int], Job] = OrderedDict()
        self._jobs_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="run")
        self._accepting = True
        self._started = False
        self._next_reap: datetime | None = None
        self._random = random.Random(self.id)
        self._idle = threading.Condition(self._lock)
        self._stop_loop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.claimed = 0
        self.lost_claims = 0
        self._endings = EndingBatcher(self._save_endings, self._save_ending)

    # Start-up ---------------------------------------------------------------------------

    def start_up(self) -> None:
        """Hold liveness, load the unfinished runs, deal with runs left by dead workers."""
        if self._started:
            return
        self._started = True
        if self.liveness is not None:
            # Before any claim: a run started under our id must always be backed by our lock.
            self.liveness.hold(self.id)
        self._seed_from_view()
        self.read_events()
        if self.abandon_running_at_start:
            # One process owns the store (embedded SQLite): whatever is still running was
            # left by a worker that is no longer there.
            now = self.clock.now()
            for run in list(self.board.running()):
                self._abandon(run.id, STARTUP_ABANDON_REASON, now)
        self.app.after_save.append(self._saved)

    def _saved(self, _notification_id: int) -> None:
        self.wakeup.set()

    def _seed_from_view(self) -> None:
        """Start from the runs view's snapshot (queued and running rows) at its position,
        then read only the Run events after it: no replay of all history at each start.

        The position is read before the rows; rows that already reflect later events are
        corrected by replaying those events, which set each run's state outright.
        """
        view = self.runs_view
        if view is None:
            return
        position = view.max_tracking_id("runs") or 0
        if not position:
            return
        for row in view.running_runs():
            self.board.add_row({**row, "status": "running"})
        cursor: str | None = None
        while True:
            rows, cursor = view.list_runs(status="queued", limit=500, cursor=cursor)
            for row in rows:
                self.board.add_row(row)
            if cursor is None:
                break
        self.position = position

    # The loop ---------------------------------------------------------------------------

    def start(self) -> None:
        """Run the loop and the log flusher in background threads until `stop`."""
        self.start_up()
        for target, name in ((self._loop, "worker-loop"), (self._flush_loop, "worker-logs")):
            thread = threading.Thread(target=target, name=f"{name}-{self.id}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _loop(self) -> None:
        while not self._stop_loop.is_set():
            try:
                self.step()
            except Exception:  # a database blip must not kill the worker: log, wait, retry
                logger.exception("worker %s: loop step failed", self.id)
                self._stop_loop.wait(1.0)
            self.wakeup.wait(self.seconds_until_next())

    def _flush_loop(self) -> None:
        while not self._stop_loop.wait(0.05):
            self.flush_due_logs()

    def step(self) -> None:
        """One pass: read new Run events, stop overdue runs, reap, claim what is ready."""
        self.start_up()
        self.read_events()
        now = self.clock.now()
        self.enforce_timeouts(now)
        if self._next_reap is None or now >= self._next_reap:
            self._next_reap = now + timedelta(seconds=self.reap_interval)
            self.reap(now)
            self._skip_ahead()
        self.dispatch(now)

    def seconds_until_next(self) -> float:
        """How long the loop may sleep before something falls due (a wake-up may come first)."""
        now = self.clock.now()
        times = []
        with self._lock:
            if self._accepting and len(self._active) < self.concurrency:
                not_before = self.board.next_not_before(now)
                if not_before is not None:
                    times.append(not_before)
            # A run already told to stop may take its grace period to end: not due again.
            times.extend(
                a.deadline
                for a in self._active.values()
                if a.deadline is not None and not a.stop.is_set()
            )
        if self._next_reap is not None:
            times.append(self._next_reap)
        wait = self.poll_interval
        for at in times:
            wait = min(wait, (at - now).total_seconds())
        return max(wait, 0.0)

    def read_events(self) -> int:
        """Fold the Run events stored since our position into the board."""
        read = 0
        recorder = self.app.recorder
        while True:
            page = recorder.select_notifications(
                start=self.position,
                limit=self.page_size,
                topics=self._topics,
                inclusive_of_start=False,
            )
            if not page:
                return read
            with self._lock:
                for notification in page:
                    self._on_event(self.app.mapper.to_domain_event(notification))
            self.position = page[-1].id
            read += len(page)
            if len(page) < self.page_size:
                return read

    def _skip_ahead(self) -> None:
        """Move the position past stretches with no Run events (log batches, say), so the
        topic-filtered read does not scan them again on every wake-up. Safe: notification
        ids become visible in order (the recorder assigns them under a table lock)."""
        top = self.app.recorder.max_notification_id() or 0
        if self.read_events() < self.page_size and top > self.position:
            self.position = top

    def _on_event(self, event: Any) -> None:
        self.board.apply(event)
        active = self._active.get(event.originator_id)
        if active is None:
            return
        if isinstance(event, Run.CancelRequested):
            active.stop.stop("cancel")
        elif isinstance(event, Run.Finished) and active.claimed:
            # Someone else ended our run (a reaper that took us for dead): stop executing.
            active.stop.stop("abandoned")

    def enforce_timeouts(self, now: datetime) -> None:
        with self._lock:
            for active in self._active.values():
                if active.deadline is not None and now >= active.deadline:
                    active.stop.stop("timeout")

    def flush_due_logs(self) -> None:
        now = self.clock.now()
        with self._lock:
            sinks = [a.sink for a in self._active.values() if a.sink is not None]
        for sink in sinks:
            try:
                sink.flush_if_due(now)
            except Exception:
                logger.exception("worker %s: writing a log batch failed", self.id)

    # Claiming ---------------------------------------------------------------------------

    def dispatch(self, now: datetime) -> int:
        """Claim ready runs for the free pool threads and hand them over. Runs known from
        their `Requested` event are claimed together in one transaction; if that conflicts
        (another worker took one of them), each is claimed on its own. Returns how many
        runs were handed out."""
        with self._lock:
            if not self._accepting:
                return 0
            free = self.concurrency - len(self._active)
            if free <= 0:
                return 0
            ready = self.board.ready(now, self._overlap_of)
            # Workers that see the same queue would all race for its oldest run; each takes
            # its picks from the oldest few in its own order, so most claims don't collide.
            window = ready[: 2 * free]
            self._random.shuffle(window)
            picked = window[:free]
            for run in picked:
                self.board.mark_taken(run.id)
                self._active[run.id] = Active(run_id=run.id)
        batch = [r for r in picked if r.request is not None]
        alone = [r for r in picked if r.request is None]
        if len(batch) > 1:
            try:
                claimed = self.app.claim_runs([r.request for r in batch], worker=self.id)
            except Conflict:
                alone.extend(batch)
            except Exception:
                logger.exception("worker %s: claiming %d runs failed", self.id, len(batch))
                for candidate in batch:
                    self._unclaimed(candidate.id)
            else:
                self.claimed += len(claimed)
                for claimed_run in claimed:
                    self._pool.submit(self._execute_safely, claimed_run)
        else:
            alone.extend(batch)
        for candidate in alone:
            self._pool.submit(self._claim_and_execute, candidate)
        return len(picked)

    def _overlap_of(self, run: BoardRun) -> str:
        try:
            job = self._job(run.job_id, run.job_version)
        except JobLedgerError:
            return "allow"
        return str(job.policies.get("overlap") or "skip")

    def _job(self, job_id: UUID, version: int) -> Job:
        """A job at a version: immutable, so cached."""
        key = (job_id, version)
        with self._jobs_lock:
            job = self._jobs.get(key)
            if job is not None:
                self._jobs.move_to_end(key)
                return job
        job = self.app.job_at(job_id, version=version)
        with self._jobs_lock:
            self._jobs[key] = job
            while len(self._jobs) > JOB_CACHE_SIZE:
                self._jobs.popitem(last=False)
        return job

    def _release(self, run_id: UUID) -> None:
        with self._lock:
            self._active.pop(run_id, None)
            self._idle.notify_all()
        self.wakeup.set()

    def _unclaimed(self, run_id: UUID) -> None:
        """A claim failed for a reason other than losing the race: offer the run again."""
        with self._lock:
            self.board.untake(run_id)
        self._release(run_id)

    def _claim_and_execute(self, candidate: BoardRun) -> None:
        try:
            if candidate.request is not None:
                (run,) = self.app.claim_runs([candidate.request], worker=self.id)
            else:
                run = self.app.start_run(candidate.id, worker=self.id)
        except (Conflict, NotFound):
            # Another worker won, or the run was cancelled or skipped meanwhile.
            self.lost_claims += 1
            self._release(candidate.id)
            return
        except Exception:
            logger.exception("worker %s: claiming run %s failed", self.id, candidate.id)
            self._unclaimed(candidate.id)
            return
        self.claimed += 1
        self._execute_safely(run)

    def _execute_safely(self, run: Run) -> None:
        try:
            self._execute(run)
        except Exception:
            logger.exception("worker %s: run %s failed in the worker", self.id, run.id)
        finally:
            self._release(run.id)

    # Executing --------------------------------------------------------------------------

    def _execute(self, run: Run) -> None:
        started = self.clock.now()
        with self._lock:
            active = self._active[run.id]
            active.claimed = True
            if run.timeout_seconds:
                active.deadline = started + timedelta(seconds=run.timeout_seconds)
            board_run = self.board.runs.get(run.id)
            if board_run is not None:
                board_run.status, board_run.worker = "running", self.id
                board_run.request = None
                if board_run.cancel_requested:
                    active.stop.stop("cancel")
        redactor = Redactor(())
        outcome: Outcome
        sink: RunLogSink | None = None
        try:
            job = self._job(run.job_id, run.job_version)
            secrets = self.app.secrets_for_run(run, job)
            redactor = Redactor(secrets.values())
            executor = self.executor_for(run.job_type)
        except Exception as error:
            # A job deleted since (its secrets shredded), an unknown job type, the store
            # unreachable: nothing to run, and the run must still end.
            outcome = Outcome(exit_code=None, error=f"cannot run: {error}")
        else:
            sink = RunLogSink(
                self.app,
                self.app.open_run_log(run),
                threshold=LogLevel.parse(run.log_level),
                redactor=redactor,
                clock=self.clock,
                on_error=lambda e: logger.error(
                    "worker %s: run %s: a log batch was lost: %s", self.id, run.id, e
                ),
                **self.log_batch,
            )
            with self._lock:
                active.sink = sink
            execution = Execution(
                run_id=run.id,
                job_id=run.job_id,
                job_name=run.job_name,
                job_type=run.job_type,
                program=job.program,
                parameters=run.parameters,
                secrets=secrets,
                log_level=LogLevel.parse(run.log_level),
                timeout_seconds=run.timeout_seconds,
                attempt=run.attempt,
            )
            try:
                if active.stop.is_set():
                    # Cancelled while being claimed: never start the program.
                    outcome = Outcome(exit_code=None, error="stopped before it started")
                else:
                    outcome = executor.execute(execution, sink, active.stop)
            except Exception as error:  # an executor bug fails the run, not the worker
                logger.exception("worker %s: executor failed on run %s", self.id, run.id)
                outcome = Outcome(exit_code=None, error=f"{type(error).__name__}: {error}")
        ending = self._ending(run, outcome, active.stop, redactor)
        if sink is not None:
            # The last entries go with the run's final event, before it: a viewer that sees
            # the run end has its whole log.
            ending.log, ending.entries = sink.log, sink.drain()
        self._endings.record(ending)

    def _ending(
        self, run: Run, outcome: Outcome, stop: StopSignal, redactor: Redactor
    ) -> RunEnding:
        """The outcome, as the run's final event."""
        reason = stop.reason
        if reason == "timeout":
            return RunEnding(run, "time_out", retry=True)
        if reason == "cancel":
            return RunEnding(run, "confirm_cancelled")
        if reason == SHUTDOWN:
            because = f"worker {self.id} shut down before the run finished"
            return RunEnding(run, "abandon", (because,), retry=True)
        if reason == "abandoned":
            return RunEnding(run, "")  # someone else already recorded its end
        if outcome.exit_code == 0 and not outcome.error:
            return RunEnding(run, "succeed", (0,))
        error = redactor.redact_optional(outcome.error) or f"exited with code {outcome.exit_code}"
        return RunEnding(run, "fail", (outcome.exit_code, error), retry=True)

    def _save_endings(self, endings: list[RunEnding]) -> None:
        if any(not e.method or (e.log is None and e.entries) for e in endings):
            # Ended elsewhere, or last entries whose log must be loaded from the store.
            raise Conflict("a run in the batch must be recorded on its own")
        self.app.end_runs(endings, retry_now=self.clock.now())

    def _save_ending(self, ending: RunEnding, fresh: bool) -> None:
        """Record one ending: as the worker holds the run if it can, else from the store."""
        if fresh and ending.method and (ending.log is not None or not ending.entries):
            try:
                self.app.end_runs([ending], retry_now=self.clock.now())
                return
            except Conflict:
                pass  # the run moved on (a cancel request?): record it from the store
        if ending.entries:
            try:
                log = self.app.run_log(ending.run.id)
            except NotFound:
                log = self.app.open_run_log(ending.run)
            self.app.record_log_entries(log, ending.entries)
        if ending.method:
            self._record(ending)

    def _record(self, ending: RunEnding) -> None:
        """The run's final event through the single-run commands, which load the run: a
        few tries if a cancel request lands at the same moment and moves its version."""
        run_id, args = ending.run.id, ending.args
        now = self.clock.now()
        for attempt in range(6):
            try:
                if ending.method == "time_out":
                    self.app.time_out_run(run_id, retry_now=now)
                elif ending.method == "confirm_cancelled":
                    self.app.confirm_cancelled(run_id)
                elif ending.method == "abandon":
                    self.app.abandon_run(run_id, reason=args[0], retry_now=now)
                elif ending.method == "succeed":
                    self.app.succeed_run(run_id, exit_code=args[0])
                else:
                    self.app.fail_run(run_id, exit_code=args[0], error=args[1], retry_now=now)
                return
            except Conflict:
                if self.app.get_run(run_id).is_finished:
                    logger.warning("worker %s: run %s was ended elsewhere", self.id, run_id)
                    return
            except Exception:
                # The store is unreachable: try again for about half a minute, else the run
                # stays running under our (live) id until this worker stops.
                logger.exception("worker %s: recording the end of run %s", self.id, run_id)
                if self._stop_loop.wait(min(2**attempt, 10)):
                    break
        logger.error("worker %s: could not record the end of run %s", self.id, run_id)

    # Abandonment ------------------------------------------------------------------------

    def reap(self, now: datetime) -> int:
        """Abandon the runs of workers that are gone (their liveness lock is free), and our
        own runs that no pool thread holds any more: their end could not be recorded (the
        store was unreachable), and while we live no other worker's reaper will take them."""
        with self._lock:
            orphans = [
                run.id
                for run in self.board.running()
                if run.worker == self.id and run.id not in self._active
            ]
        reason = f"worker {self.id} could not record how the run ended"
        # A run that did end meanwhile (the board lags the store) is a Conflict: left alone.
        reaped = sum(self._abandon(run_id, reason, now) for run_id in orphans)
        if self.liveness is None:
            return reaped
        try:
            self.liveness.check()
        except Exception:
            logger.exception("worker %s: cannot hold its liveness lock", self.id)
        with self._lock:
            by_worker: dict[str, list[UUID]] = {}
            for run in self.board.running():
                if run.worker and run.worker != self.id:
                    by_worker.setdefault(run.worker, []).append(run.id)
        for worker_id, run_ids in by_worker.items():
            try:
                gone = self.liveness.is_gone(worker_id)
            except Exception:
                logger.exception("worker %s: liveness check of %s failed", self.id, worker_id)
                continue
            if not gone:
                continue
            for run_id in run_ids:
                if self._abandon(run_id, f"worker {worker_id} stopped responding", now):
                    reaped += 1
        return reaped

    def _abandon(self, run_id: UUID, reason: str, now: datetime) -> bool:
        try:
            self.app.abandon_run(run_id, reason=reason, retry_now=now)
        except (Conflict, NotFound):
            return False  # another reaper, or the run's end, came first
        logger.warning("worker %s: run %s abandoned: %s", self.id, run_id, reason)
        return True

    # Stopping ---------------------------------------------------------------------------

    def active_runs(self) -> list[UUID]:
        with self._lock:
            return list(self._active)

    def wait_idle(self, timeout: float) -> bool:
        """Block until no run is executing (for tests and shutdown)."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._active, timeout)

    def stop(self, *, grace: float = 10.0) -> None:
        """Stop claiming; let running runs finish for `grace` seconds; then stop the rest
        (their processes are killed) and record them abandoned, so none is left running."""
        with self._lock:
            self._accepting = False
        self.wakeup.set()
        if not self.wait_idle(grace):
            with self._lock:
                for active in self._active.values():
                    active.stop.stop(SHUTDOWN)
            self.wait_idle(60.0)
        self._stop_loop.set()
        self.wakeup.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        self._pool.shutdown(wait=True)
        self._endings.close()
        if self._saved in self.app.after_save:
            self.app.after_save.remove(self._saved)
        if self.liveness is not None:
            self.liveness.release()
