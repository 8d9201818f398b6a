"""Claiming runs: a worker takes ready runs by appending `Started` at their next version.

Of workers racing for one run one wins; the others get Conflict and move on. The runs the
loop can take at once are claimed in one transaction (commits, not work, bound a worker);
if that conflicts, each is claimed on its own. A worker claims only runs of the job types it
can run (engine.capabilities): the others wait for a worker that can.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from concurrent.futures import Executor as Pool
from datetime import datetime
from uuid import UUID

from application.app import JobLedger
from domain.errors import Conflict, JobLedgerError, NotFound
from domain.run import Run
from engine.active_runs import ActiveRuns
from engine.board import BoardRun, RunBoard
from engine.execution import RunExecutions
from engine.job_cache import JobCache

logger = logging.getLogger("jobledger.worker")


class Claimer:
    """Picks ready runs from the board, claims them and hands them to the pool."""

    def __init__(
        self,
        app: JobLedger,
        *,
        worker_id: str,
        board: RunBoard,
        active: ActiveRuns,
        jobs: JobCache,
        pool: Pool,
        executions: RunExecutions,
        runnable: Callable[[str], bool] = lambda _job_type: True,
    ) -> None:
        self._app = app
        self._worker_id = worker_id
        self._board = board
        self._active = active
        self._jobs = jobs
        self._pool = pool
        self._executions = executions
        self._runnable = runnable
        # Seeded by the worker's id: two workers shuffle the same queue differently.
        self._random = random.Random(worker_id)
        self.claimed = 0
        self.lost_claims = 0

    def dispatch(self, now: datetime) -> int:
        """Claim ready runs for the free pool threads and hand them over. Runs known from
        their `Requested` event are claimed together in one transaction; if that conflicts
        (another worker took one of them), each is claimed on its own. Returns how many
        runs were handed out."""
        picked = self._pick(now)
        batch: list[tuple[BoardRun, Run.Requested]] = [
            (r, r.request) for r in picked if r.request is not None
        ]
        alone = [r for r in picked if r.request is None]
        if len(batch) > 1:
            self._claim_together(batch, alone)
        else:
            alone.extend(r for r, _ in batch)
        for candidate in alone:
            self._pool.submit(self._claim_and_execute, candidate)
        return len(picked)

    def _pick(self, now: datetime) -> list[BoardRun]:
        """The ready runs to claim now, held in the active table so no other pass takes them."""
        with self._active.lock:
            free = self._active.free_slots()
            if free <= 0:
                return []
            ready = [
                run
                for run in self._board.ready(now, self._overlap_of)
                if self._runnable(run.job_type)
            ]
            # Workers that see the same queue would all race for its oldest run; each takes
            # its picks from the oldest few in its own order, so most claims don't collide.
            window = ready[: 2 * free]
            self._random.shuffle(window)
            picked = window[:free]
            for run in picked:
                self._board.mark_taken(run.id)
                self._active.hold(run.id)
        return picked

    def _claim_together(
        self, batch: list[tuple[BoardRun, Run.Requested]], alone: list[BoardRun]
    ) -> None:
        """Claim `batch` in one transaction; on Conflict add its runs to `alone`."""
        try:
            claimed = self._app.claim_runs(
                [request for _, request in batch], worker=self._worker_id
            )
        except Conflict:
            alone.extend(r for r, _ in batch)
        except Exception:
            logger.exception("worker %s: claiming %d runs failed", self._worker_id, len(batch))
            for candidate, _ in batch:
                self._unclaimed(candidate.id)
        else:
            self.claimed += len(claimed)
            for run in claimed:
                self._pool.submit(self._executions.execute_safely, run)

    def _overlap_of(self, run: BoardRun) -> str:
        try:
            job = self._jobs.get(run.job_id, run.job_version)
        except JobLedgerError:
            return "allow"
        return str(job.policies.get("overlap") or "skip")

    def _claim_and_execute(self, candidate: BoardRun) -> None:
        try:
            if candidate.request is not None:
                (run,) = self._app.claim_runs([candidate.request], worker=self._worker_id)
            else:
                run = self._app.start_run(candidate.id, worker=self._worker_id)
        except (Conflict, NotFound):
            # Another worker won, or the run was cancelled or skipped meanwhile.
            self.lost_claims += 1
            self._active.release(candidate.id)
            return
        except Exception:
            logger.exception("worker %s: claiming run %s failed", self._worker_id, candidate.id)
            self._unclaimed(candidate.id)
            return
        self.claimed += 1
        self._executions.execute_safely(run)

    def _unclaimed(self, run_id: UUID) -> None:
        """A claim failed for a reason other than losing the race: offer the run again."""
        with self._active.lock:
            self._board.untake(run_id)
        self._active.release(run_id)
