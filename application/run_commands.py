"""Commands over runs and their logs: request, claim, record the outcome, cancel."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import RecordConflictError

from application.base import LedgerBase
from domain import run as run_model
from domain import values
from domain.errors import Conflict, InvalidInput, NotFound
from domain.job import Job
from domain.log_level import LogLevel
from domain.run import Run
from domain.run_log import RunLog, open_log, run_log_id


class RunCommands(LedgerBase):
    """Mixed into the application: the lifecycle of runs, used by people, scheduler and engine."""

    def request_run(
        self,
        job_id: UUID,
        *,
        actor: str,
        parameters: object = None,
        trigger: str = "manual",
        scheduled_for: datetime | None = None,
        retry_of: UUID | None = None,
        attempt: int = 1,
    ) -> Run:
        """Ask for a run of the job as it is now. `parameters` override the job's, key by key."""
        job = self.get_job(job_id)
        overrides = values.parameters(parameters, "parameters")
        effective = values.parameters({**job.parameters, **overrides}, "parameters")
        run = run_model.request(
            job_id=job.id,
            job_version=job.version,
            job_name=job.name,
            job_type=job.job_type,
            trigger=trigger,
            requested_by=actor,
            parameters=effective,
            log_level=job.log_level,
            timeout_seconds=job.timeout_seconds,
            scheduled_for=scheduled_for,
            attempt=attempt,
            retry_of=retry_of,
        )
        try:
            self.save(run)
        except RecordConflictError:
            # Only a scheduled run's name-based id can collide: the slot already fired.
            raise Conflict(f"run {run.id} for this slot was already requested") from None
        return run

    def get_run(self, run_id: UUID) -> Run:
        return self._load("run", Run, run_id)

    def start_run(self, run_id: UUID, *, worker: str) -> Run:
        """Claim a queued run. Of workers racing for it one wins; the rest get Conflict."""
        run = self.get_run(run_id)
        run.start(worker)
        self._save(run)
        return run

    def _finish(self, run_id: UUID, method: str, *args: Any) -> Run:
        run = self.get_run(run_id)
        getattr(run, method)(*args)
        self._save(run)
        return run

    def succeed_run(self, run_id: UUID, *, exit_code: int | None = 0) -> Run:
        return self._finish(run_id, "succeed", exit_code)

    def fail_run(self, run_id: UUID, *, exit_code: int | None, error: str | None) -> Run:
        return self._finish(run_id, "fail", exit_code, error)

    def time_out_run(self, run_id: UUID) -> Run:
        return self._finish(run_id, "time_out")

    def cancel_run(self, run_id: UUID, *, actor: str) -> Run:
        return self._finish(run_id, "request_cancel", actor)

    def confirm_cancelled(self, run_id: UUID) -> Run:
        return self._finish(run_id, "confirm_cancelled")

    def skip_run(self, run_id: UUID, *, reason: str) -> Run:
        return self._finish(run_id, "skip", reason)

    def abandon_run(self, run_id: UUID, *, reason: str) -> Run:
        return self._finish(run_id, "abandon", reason)

    # The run's log: its own stream, written by the one worker that runs it.

    def open_run_log(self, run: Run) -> RunLog:
        """Start the log stream of a run, with the run's threshold. Saved with the first batch."""
        return open_log(run.id, run.log_level)

    def record_log_entries(
        self,
        log: RunLog,
        entries: Iterable[tuple[datetime, LogLevel, str]],
    ) -> int:
        """Append a batch to the log (entries below the threshold are dropped). One event."""
        kept = log.record(entries)
        if log.pending_events:
            self._save(log)
        return kept

    def run_log(self, run_id: UUID) -> RunLog:
        return self._load("run log", RunLog, run_log_id(run_id))

    # The one door to plain secret values, for the engine at run time.

    def secrets_for_run(self, run: Run) -> dict[str, str]:
        """Decrypt the secrets of the job version the run executes with."""
        job = self._load("job", Job, run.job_id, version=run.job_version)
        return {
            name: self.vault.decrypt(job.id, name, info["ciphertext"])
            for name, info in job.secrets.items()
        }

    def job_for_run(self, run: Run) -> Job:
        """Which configuration produced this run: one lookup, by the recorded version."""
        try:
            return self._load("job", Job, run.job_id, version=run.job_version)
        except NotFound:
            raise InvalidInput("run_id", f"run {run.id} names a job that does not exist") from None
