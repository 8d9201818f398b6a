"""Abandonment: no run is left `running` by a worker that is gone.

A worker proves it is alive through a `Liveness` (on PostgreSQL a session advisory lock);
the others abandon the runs of a worker whose liveness is free, and each worker abandons its
own runs that no pool thread holds any more (their end could not be recorded).
"""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from domain.errors import Conflict, NotFound
from engine.worker_state import WorkerState

logger = logging.getLogger("jobledger.worker")


class WorkerReaper(WorkerState):
    """Abandons the runs of dead workers, and its own orphans."""

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
