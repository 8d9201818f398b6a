"""The engine: a worker that claims queued runs, executes them and records what happened.

One `Worker` per process (or per application, in tests) with a pool of `concurrency`
threads. Its loop follows the Run events of the notification log into a `RunBoard` (which
runs are queued, which run where), wakes on a wake-up (the application's after-save
listeners in one process, PostgreSQL's LISTEN/NOTIFY across processes) or at the next time
something falls due (a retry's not-before time, a timeout, a reaper pass), and claims ready
runs by appending `Started` at their next version: of workers racing for a run one wins, the
others get Conflict and move on.

This module holds the loop and the worker's lifecycle (start-up, stop) and wires the parts
it delegates to, each in a module of its own: `claims` (claiming), `execution` (running one
run and recording its end), `endings` (ends saved together), `reaper` (abandonment) and
`active_runs` (the runs this worker holds, and the lock they and the board share),
`capabilities` (which job types it claims, and runs no live worker can run).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.utils import get_topic

from application.app import JobLedger
from application.event_reader import pages_after
from application.outage import LoopState, Outage
from application.ports import Clock, Wakeup
from domain.run import Run
from engine.active_runs import ActiveRuns, StopReason
from engine.board import BOARD_EVENTS, RunBoard
from engine.capabilities import DEFAULT_UNRUNNABLE_WAIT, UnrunnableRuns, can_run
from engine.claims import Claimer
from engine.endings import EndingBatcher
from engine.execution import RECORD_RETRY_DELAYS, EndRecorder, RunExecutions
from engine.job_cache import JobCache
from engine.lease_keeper import LeaseKeeper
from engine.log_pipeline import LogBatchLimits
from engine.ports import RunsSnapshot, WorkerCapabilities, WorkerLeases
from engine.reaper import Reaper
from jobtypes import Availability, Executor

__all__ = ["RECORD_RETRY_DELAYS", "SHUTDOWN", "STARTUP_ABANDON_REASON", "Worker", "new_worker_id"]

logger = logging.getLogger("jobledger.worker")

STARTUP_ABANDON_REASON = "worker stopped; found at start-up"
# How long a lease lasts unrenewed; others wait for its expiry plus a grace period.
DEFAULT_LEASE = timedelta(seconds=20)
# The stop reason of the worker's own shutdown (kept under its old name for callers).
SHUTDOWN = StopReason.SHUTDOWN


def new_worker_id() -> str:
    """Unique per process start: a restarted worker never inherits a dead one's runs."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


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
        leases: WorkerLeases | None = None,
        lease: timedelta = DEFAULT_LEASE,
        runs_view: RunsSnapshot | None = None,
        abandon_running_at_start: bool = False,
        poll_interval: float = 5.0,
        reap_interval: float = 3.0,
        page_size: int = 1000,
        log_batch: LogBatchLimits | None = None,
        capabilities: Mapping[str, Availability] | None = None,
        capability_records: WorkerCapabilities | None = None,
        unrunnable_wait: timedelta = DEFAULT_UNRUNNABLE_WAIT,
    ) -> None:
        """`log_batch` overrides the `RunLogSink` batch bounds (max_entries, max_chars,
        max_delay); `runs_view` lets start-up begin from the runs view's snapshot;
        `capabilities` (job type -> what its probe found; None: every type) are recorded in
        `capability_records` and limit what this worker claims."""
        # Over 60 lines on purpose: this is the one place the collaborators are built and
        # handed their dependencies, in dependency order, so a reader sees the whole wiring.
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.app = app
        self.clock = clock
        self.wakeup = wakeup
        self.id = worker_id or new_worker_id()
        self.concurrency = concurrency
        self.leases = leases
        self.lease = lease
        self.capabilities = capabilities
        self.capability_records = capability_records
        self._keeper: LeaseKeeper | None = None
        self._outage = Outage(f"worker {self.id}", logger)
        self._log_outage = Outage(f"worker {self.id} log writer", logger)
        self.runs_view = runs_view
        self.abandon_running_at_start = abandon_running_at_start
        self.poll_interval = poll_interval
        self.reap_interval = reap_interval
        self.page_size = page_size
        self.board = RunBoard()
        self.position = 0
        self._topics = [get_topic(cls) for cls in BOARD_EVENTS]
        self._active = ActiveRuns(concurrency, wakeup)
        self._started = False
        self._next_reap: datetime | None = None
        self._stop_loop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="run")
        jobs = JobCache(app)
        self._recorder = EndRecorder(app, worker_id=self.id, clock=clock, stopping=self._stop_loop)
        self._endings = EndingBatcher(self._recorder.save_together, self._recorder.save_alone)
        executions = RunExecutions(
            app,
            worker_id=self.id,
            executor_for=executor_for,
            clock=clock,
            active=self._active,
            board=self.board,
            jobs=jobs,
            endings=self._endings,
            log_batch=log_batch or LogBatchLimits(),
        )
        self._claimer = Claimer(
            app,
            worker_id=self.id,
            board=self.board,
            active=self._active,
            jobs=jobs,
            pool=self._pool,
            executions=executions,
            runnable=can_run(capabilities),
        )
        self._unrunnable = UnrunnableRuns(
            app, worker_id=self.id, board=self.board, active=self._active,
            capabilities=capabilities, records=capability_records, wait=unrunnable_wait,
        )  # fmt: skip
        self._reaper = Reaper(
            app, worker_id=self.id, board=self.board, active=self._active, leases=leases
        )

    # What callers and tests read and set ------------------------------------------------

    @property
    def claimed(self) -> int:
        """How many runs this worker claimed."""
        return self._claimer.claimed

    @property
    def lost_claims(self) -> int:
        """How many claims this worker lost to another worker (or to a cancel)."""
        return self._claimer.lost_claims

    @property
    def record_retry_delays(self) -> tuple[float, ...]:
        """Waits between tries to record a run's end while the store is unreachable."""
        return self._recorder.retry_delays

    @record_retry_delays.setter
    def record_retry_delays(self, delays: tuple[float, ...]) -> None:
        self._recorder.retry_delays = delays

    def dispatch(self, now: datetime) -> int:
        """Claim ready runs for the free pool threads; returns how many were handed out."""
        return self._claimer.dispatch(now)

    def reap(self, now: datetime) -> int:
        """Abandon the runs of dead workers and this worker's orphans; returns how many."""
        return self._reaper.reap(now)

    # Start-up ---------------------------------------------------------------------------

    def start_up(self) -> None:
        """Take a lease, load the unfinished runs, deal with runs left by dead workers."""
        if self._started:
            return
        self._started = True
        if self.leases is not None:
            # Before any claim: a run started under our id must always be backed by a lease.
            self.leases.hold(self.id)
            self._keeper = LeaseKeeper(
                self.leases,
                worker_id=self.id,
                lease=self.lease,
                on_fence=self._fence,
                on_resume=self._resume,
            )
            self._keeper.start()
        if self.capability_records is not None and self.capabilities is not None:
            # After the lease: a record counts only while its worker's lease is live.
            self.capability_records.record(self.id, self.capabilities)
        self._seed_from_view()
        self.read_events()
        if self.abandon_running_at_start:
            # One process owns the store (embedded SQLite): whatever is still running was
            # left by a worker that is no longer there.
            now = self.clock.now()
            for run in list(self.board.running()):
                self._reaper.abandon(run.id, STARTUP_ABANDON_REASON, now)
        self.app.after_save.append(self._saved)

    def _saved(self, _notification_id: int) -> None:
        self.wakeup.set()

    def _fence(self) -> None:
        """The lease could not be renewed: stop every held run, take no new one."""
        with self._active.lock:
            self._active.fenced = True
        self._active.stop_all(StopReason.FENCED)
        self.wakeup.set()

    def _resume(self) -> None:
        with self._active.lock:
            self._active.fenced = False
        self.wakeup.set()

    def _seed_from_view(self) -> None:
        """Start from the runs view's snapshot (RunBoard.seed) and read only the Run events
        after its position: no replay of all history at each start."""
        if self.runs_view is not None:
            self.position = self.board.seed(self.runs_view) or self.position

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
            except Exception as error:  # the store away must not kill the worker: say so once
                self._stop_loop.wait(self._outage.failed(error))
                continue
            self._outage.succeeded()
            self.wakeup.wait(self.seconds_until_next())

    def health(self) -> list[LoopState]:
        """The worker's loops as /healthz reports them: its own, its log writer, its lease."""
        states = [self._outage.state(), self._log_outage.state()]
        if self._keeper is not None:
            states.append(self._keeper.state())
        if not any(thread.is_alive() for thread in self._threads) and self._threads:
            states.append(LoopState(f"worker {self.id}", healthy=False, cause="stopped"))
        return states

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
            self._unrunnable.give_up(now)
            self._skip_ahead()
        self.dispatch(now)

    def seconds_until_next(self) -> float:
        """How long the loop may sleep before something falls due (a wake-up may come first)."""
        now = self.clock.now()
        times = []
        with self._active.lock:
            if self._active.free_slots() > 0:
                not_before = self.board.next_not_before(now)
                if not_before is not None:
                    times.append(not_before)
            # A run already told to stop may take its grace period to end: not due again.
            times.extend(
                a.deadline for a in self._active if a.deadline is not None and not a.stop.is_set()
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
        for events, last in pages_after(self.app, self.position, self._topics, self.page_size):
            with self._active.lock:
                for event in events:
                    self._on_event(event)
            self.position = last
            read += len(events)
        return read

    def _skip_ahead(self) -> None:
        """Move the position past stretches with no Run events (log batches, say), so the
        topic-filtered read does not scan them again on every wake-up. Safe: notification
        ids become visible in order (the recorder assigns them under a table lock)."""
        top = self.app.recorder.max_notification_id() or 0
        if self.read_events() < self.page_size and top > self.position:
            self.position = top

    def _on_event(self, event: DomainEventProtocol[UUID]) -> None:
        self.board.apply(event)
        active = self._active.get(event.originator_id)
        if active is None:
            return
        if isinstance(event, Run.CancelRequested):
            active.stop.stop(StopReason.CANCEL)
        elif isinstance(event, Run.Finished) and active.claimed:
            # Someone else ended our run (a reaper that took us for dead): stop executing.
            active.stop.stop(StopReason.ENDED_ELSEWHERE)

    def enforce_timeouts(self, now: datetime) -> None:
        """Tell the runs past their deadline to stop; each is then recorded timed out."""
        with self._active.lock:
            for active in self._active:
                if active.deadline is not None and now >= active.deadline:
                    active.stop.stop(StopReason.TIMEOUT)

    def flush_due_logs(self) -> None:
        """Write the log batches whose oldest entry has waited its time bound."""
        now = self.clock.now()
        with self._active.lock:
            sinks = [a.sink for a in self._active if a.sink is not None]
        for sink in sinks:
            try:
                sink.flush_if_due(now)
            except Exception as error:  # the sink keeps the batch and tries again
                self._log_outage.failed(error)
            else:
                self._log_outage.succeeded()

    # Stopping ---------------------------------------------------------------------------

    def active_runs(self) -> list[UUID]:
        """The ids of the runs this worker holds now."""
        return self._active.ids()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no run is executing (for tests and shutdown)."""
        return self._active.wait_idle(timeout)

    def stop(self, *, grace: float = 10.0) -> None:
        """Stop claiming; let running runs finish for `grace` seconds; then stop the rest
        (their processes are killed) and record them abandoned, so none is left running."""
        with self._active.lock:
            self._active.accepting = False
        self.wakeup.set()
        if not self.wait_idle(grace):
            self._active.stop_all(StopReason.SHUTDOWN)
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
        if self._keeper is not None:
            self._keeper.stop()
        if self.capability_records is not None:
            with contextlib.suppress(Exception):  # the store away: the lease expires anyway
                self.capability_records.forget(self.id)
        if self.leases is not None:
            self.leases.release()
