"""Claiming runs: a worker takes ready runs by appending `Started` at their next version.

Of workers racing for one run one wins; the others get Conflict and move on. The runs the
loop can take at once are claimed in one transaction (commits, not work, bound a worker);
if that conflicts, each is claimed on its own.
"""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from domain.errors import Conflict, JobLedgerError, NotFound
from engine.board import BoardRun
from engine.worker_execution import WorkerExecution
from engine.worker_state import Active

logger = logging.getLogger("jobledger.worker")


class WorkerClaims(WorkerExecution):
    """Picks ready runs from the board, claims them and hands them to the pool."""

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

    def _unclaimed(self, run_id: UUID) -> None:
        """A claim failed for a reason other than losing the race: offer the run again."""
        with self._lock:
            self.board.untake(run_id)
        self._release(run_id)
