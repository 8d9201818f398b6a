"""Abandonment: no run is left `running` by a worker that is gone.

A worker proves it is alive through a `Liveness` (on PostgreSQL a session advisory lock);
the others abandon the runs of a worker whose liveness is free, and each worker abandons its
own runs that no pool thread holds any more (their end could not be recorded).
"""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from application.app import JobLedger
from domain.errors import Conflict, NotFound
from engine.active_runs import ActiveRuns
from engine.board import RunBoard
from engine.ports import Liveness

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
        liveness: Liveness | None,
    ) -> None:
        self._app = app
        self._worker_id = worker_id
        self._board = board
        self._active = active
        self._liveness = liveness

    def reap(self, now: datetime) -> int:
        """Abandon the runs of workers that are gone (their liveness lock is free), and our
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
        if self._liveness is None:
            return reaped
        return reaped + self._reap_dead_workers(self._liveness, now)

    def _reap_dead_workers(self, liveness: Liveness, now: datetime) -> int:
        try:
            liveness.check()
        except Exception:
            logger.exception("worker %s: cannot hold its liveness lock", self._worker_id)
        with self._active.lock:
            by_worker: dict[str, list[UUID]] = {}
            for run in self._board.running():
                if run.worker and run.worker != self._worker_id:
                    by_worker.setdefault(run.worker, []).append(run.id)
        reaped = 0
        for worker_id, run_ids in by_worker.items():
            try:
                gone = liveness.is_gone(worker_id)
            except Exception:
                logger.exception(
                    "worker %s: liveness check of %s failed", self._worker_id, worker_id
                )
                continue
            if not gone:
                continue
            for run_id in run_ids:
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
