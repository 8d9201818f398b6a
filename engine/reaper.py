"""Abandonment: no run is left `running` by a worker that is gone.

A worker proves it is alive by renewing a lease (`WorkerLeases`); the others abandon the runs
of a worker whose lease expired more than a grace period ago, and each worker abandons its own
runs that no pool thread holds any more (their end could not be recorded).
"""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from application.app import JobLedger
from application.outage import Outage
from domain.errors import Conflict, NotFound
from engine.active_runs import ActiveRuns
from engine.board import RunBoard
from engine.ports import WorkerLeases

logger = logging.getLogger("jobledger.worker")


class Reaper:
    """Abandons the runs of dead workers, and this worker's own orphans."""

    def __init__(
        self,
        app: JobLedger,
        *,
        worker_id: str,
        board: RunBoard,
        active: ActiveRuns,
        leases: WorkerLeases | None,
    ) -> None:
        self._app = app
        self._worker_id = worker_id
        self._board = board
        self._active = active
        self._leases = leases
        self._outage = Outage(f"worker {worker_id} reaper", logger)

    def reap(self, now: datetime) -> int:
        """Abandon the runs of workers that are gone (their lease expired), and our
        own runs that no pool thread holds any more: their end could not be recorded (the
        store was unreachable), and while we live no other worker's reaper will take them."""
        with self._active.lock:
            orphans = [
                run.id
                for run in self._board.running()
                if run.worker == self._worker_id and run.id not in self._active
            ]
        reason = f"worker {self._worker_id} could not record how the run ended"
        # A run that did end meanwhile (the board lags the store) is a Conflict: left alone.
        reaped = sum(self.abandon(run_id, reason, now) for run_id in orphans)
        if self._leases is None:
            return reaped
        return reaped + self._reap_dead_workers(self._leases, now)

    def _reap_dead_workers(self, leases: WorkerLeases, now: datetime) -> int:
        with self._active.lock:
            by_worker: dict[str, list[UUID]] = {}
            for run in self._board.running():
                if run.worker and run.worker != self._worker_id:
                    by_worker.setdefault(run.worker, []).append(run.id)
        if not by_worker:
            return 0
        try:
            gone = leases.expired(by_worker)
        except Exception as error:
            # We cannot tell who is alive: abandon nothing until we can.
            self._outage.failed(error)
            return 0
        self._outage.succeeded()
        reaped = 0
        for worker_id in sorted(gone):
            for run_id in by_worker[worker_id]:
                if self.abandon(run_id, f"worker {worker_id} stopped responding", now):
                    reaped += 1
        return reaped

    def abandon(self, run_id: UUID, reason: str, now: datetime) -> bool:
        """Record the run abandoned (and its retry); False if its end came first."""
        try:
            self._app.abandon_run(run_id, reason=reason, retry_now=now)
        except (Conflict, NotFound):
            return False  # another reaper, or the run's end, came first
        logger.warning("worker %s: run %s abandoned: %s", self._worker_id, run_id, reason)
        return True
