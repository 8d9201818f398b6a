"""The engine: a worker that claims queued runs, executes them and records what happened.

One `Worker` per process (or per application, in tests) with a pool of `concurrency`
threads. Its loop follows the Run events of the notification log into a `RunBoard` (which
runs are queued, which run where), wakes on a wake-up (the application's after-save
listeners in one process, PostgreSQL's LISTEN/NOTIFY across processes) or at the next time
something falls due (a retry's not-before time, a timeout, a reaper pass), and claims ready
runs by appending `Started` at their next version: of workers racing for a run one wins, the
others get Conflict and move on.

This module holds the loop and the worker's lifecycle (start-up, stop); the parts live
beside it: `worker_claims` (claiming), `worker_execution` (running one run with its timeout
and cancel, and recording its end), `worker_reaper` (abandonment), `worker_state` (what
they share), `worker_endings` (ends saved together).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from application.event_reader import pages_after
from domain.run import Run
from engine.worker_claims import WorkerClaims
from engine.worker_reaper import WorkerReaper
from engine.worker_state import (
    RECORD_RETRY_DELAYS,
    SHUTDOWN,
    STARTUP_ABANDON_REASON,
    Active,
    Liveness,
    Wakeup,
    new_worker_id,
)

__all__ = [
    "RECORD_RETRY_DELAYS",
    "SHUTDOWN",
    "STARTUP_ABANDON_REASON",
    "Active",
    "Liveness",
    "Wakeup",
    "Worker",
    "new_worker_id",
]

logger = logging.getLogger("jobledger.worker")


class Worker(WorkerClaims, WorkerReaper):
    """Claims and executes runs; see the module docstring."""

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
        for events, last in pages_after(self.app, self.position, self._topics, self.page_size):
            with self._lock:
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
