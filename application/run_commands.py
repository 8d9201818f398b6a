"""Commands over runs and their logs: request, claim, record the outcome, cancel."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.persistence import RecordConflictError

from application.base import LedgerBase
from application.parameter_checks import check_parameters
from domain import run as run_model
from domain import values
from domain.errors import Conflict, InvalidInput, NotFound, NotPermitted
from domain.job import Job
from domain.log_level import LogLevel
from domain.retry import RetryPolicy
from domain.run import Run
from domain.run_log import RunLog, open_log, run_log_id


class Ending(Enum):
    """How a run that a worker executed ended: which of the run's final events records it."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    ABANDONED = "abandoned"

    @property
    def may_retry(self) -> bool:
        """Whether the job's retry policy applies: a run that did not finish by itself."""
        return self in (Ending.FAILED, Ending.TIMED_OUT, Ending.ABANDONED)


@dataclass
class RunEnding:
    """How one run ended, for `end_runs`, with the log entries still to be written before it.

    `ending` is None for a run whose end was recorded by someone else (a reaper): only its
    last entries remain to be written. `error` is a failure's message or an abandonment's
    reason; `discarded_entries` counts the log entries dropped below the run's threshold.
    """

    run: Run
    ending: Ending | None
    exit_code: int | None = None
    error: str | None = None
    discarded_entries: int = 0
    log: RunLog | None = None
    entries: list[tuple[datetime, LogLevel, str]] = field(default_factory=list)


def apply_ending(run: Run, ending: RunEnding) -> None:
    """Trigger the run's final event for `ending` on `run` (Conflict if it moved on)."""
    discarded = ending.discarded_entries
    match ending.ending:
        case Ending.SUCCEEDED:
            run.succeed(ending.exit_code, discarded_entries=discarded)
        case Ending.FAILED:
            run.fail(ending.exit_code, ending.error, discarded_entries=discarded)
        case Ending.TIMED_OUT:
            run.time_out(discarded_entries=discarded)
        case Ending.CANCELLED:
            run.confirm_cancelled(discarded_entries=discarded)
        case Ending.ABANDONED:
            run.abandon(ending.error or "", discarded_entries=discarded)
        case None:
            raise ValueError(f"run {run.id}: no ending to record")


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
        override_any: bool = False,
        rerun_of: UUID | None = None,
    ) -> Run:
        """Ask for a run of the job as it is now. `parameters` override the job's, key by key:
        only those the job opens to overrides (`overridable_parameters`), unless the caller
        may override any (an administrator), and never so that an HTTP job's secrets would
        go to another host than its own parameters name. Refused overrides run nothing."""
        run = self.new_run(
            self.get_job(job_id),
            actor=actor,
            parameters=parameters,
            trigger=trigger,
            scheduled_for=scheduled_for,
            retry_of=retry_of,
            attempt=attempt,
            override_any=override_any,
            rerun_of=rerun_of,
        )
        try:
            self.save(run)
        except RecordConflictError:
            # Only a scheduled run's name-based id can collide: the slot already fired.
            raise Conflict(f"run {run.id} for this slot was already requested") from None
        return run

    def new_run(
        self,
        job: Job,
        *,
        actor: str,
        parameters: object = None,
        trigger: str = "manual",
        scheduled_for: datetime | None = None,
        retry_of: UUID | None = None,
        attempt: int = 1,
        override_any: bool = False,
        rerun_of: UUID | None = None,
        overrides_field: str = "parameters",
    ) -> Run:
        """`request_run`'s run, checked but not saved: for a command that saves it with
        other events in one transaction (a webhook call's audit record).

        The run's parameters are the job's schema defaults, then its own, then the overrides;
        with a schema, they must satisfy it (InvalidInput naming each parameter, an override
        under `overrides_field`, as the caller sent it)."""
        overrides = values.parameters(parameters, "parameters")
        base = job.base_parameters()
        effective = values.parameters({**base, **overrides}, "parameters")
        if overrides and not override_any:
            allowed = set(job.policies.get("overridable_parameters") or ())
            refused = sorted(set(overrides) - allowed)
            if refused:
                raise NotPermitted(
                    f"parameters.{refused[0]}",
                    f"this job does not let operators override {', '.join(refused)} (an "
                    "administrator may, or may add them to its overridable_parameters)",
                )
            self.job_types.check_overrides(job.job_type, job.program, base, effective)
        check_parameters(
            job.parameters_schema, effective, given=overrides, given_field=overrides_field
        )
        return run_model.request(
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
            overrides=list(overrides),
            rerun_of=rerun_of,
        )

    def rerun(self, run_id: UUID, *, actor: str, override_any: bool = False) -> Run:
        """Run a run's job again, now, with the run's effective parameters (trigger rerun,
        linked to the run by `rerun_of`). It runs the job as it is now (program, secrets,
        policies). Where the job's parameters changed since, the run's values are sent as
        overrides, under the same rule as run now: an operator may resend only those the
        job still opens to overrides, else NotPermitted names them and nothing runs.
        Parameters the job gained since the run are included: they cannot be taken away."""
        original = self.get_run(run_id)
        job = self.get_job(original.job_id)
        missing = object()
        base = job.base_parameters()
        overrides = {
            key: value
            for key, value in original.parameters.items()
            if base.get(key, missing) != value
        }
        allowed = set(job.policies.get("overridable_parameters") or ())
        refused = sorted(set(overrides) - allowed)
        if refused and not override_any:
            raise NotPermitted(
                f"parameters.{refused[0]}",
                f"the job's {', '.join(refused)} changed since run {run_id}, and this job "
                "does not let operators override them: an administrator may rerun it, or "
                "run the job now with its current parameters",
            )
        return self.request_run(
            job.id,
            actor=actor,
            parameters=overrides or None,
            trigger="rerun",
            override_any=override_any,
            rerun_of=original.id,
        )

    def get_run(self, run_id: UUID) -> Run:
        return self._load("run", Run, run_id)

    def start_run(self, run_id: UUID, *, worker: str) -> Run:
        """Claim a queued run. Of workers racing for it one wins; the rest get Conflict."""
        run = self.get_run(run_id)
        run.start(worker)
        self._save(run)
        return run

    def claim_runs(self, requests: Sequence[Run.Requested], *, worker: str) -> list[Run]:
        """Claim several queued runs in one transaction, built from their `Requested` events
        (a queued run has no other event, so the worker that read them needs no load).
        Conflict if any of them moved on meanwhile: then none is claimed."""
        runs: list[Run] = []
        for requested in requests:
            run = requested.mutate(None)
            assert isinstance(run, Run)
            run.start(worker)
            runs.append(run)
        self._save(*runs)
        return runs

    def end_runs(self, endings: Sequence[RunEnding], *, retry_now: datetime) -> None:
        """Record several runs' ends, each after its log's last entries, in one transaction.

        Each ending is applied to the run as its worker holds it. Conflict if any run moved
        on (a cancel request, a reaper): then nothing is saved, and the aggregates given have
        lost their pending events, so the caller must record each ending again from the store.
        """
        aggregates: list[Any] = []
        for ending in endings:
            if ending.log is not None and ending.entries:
                ending.log.record(ending.entries)
                aggregates.append(ending.log)
            apply_ending(ending.run, ending)
            aggregates.append(ending.run)
            if ending.ending is not None and ending.ending.may_retry:
                retry = self._retry_of(ending.run, retry_now)
                if retry is not None:
                    aggregates.append(retry)
        self._save(*aggregates)

    def end_run(self, ending: RunEnding, *, retry_now: datetime) -> Run:
        """Record one run's end on the run as stored (not as the worker holds it), with the
        retry its job asks for if the ending may be retried."""
        return self._finish(
            ending.run.id,
            lambda run: apply_ending(run, ending),
            retry_now=retry_now if ending.ending is not None and ending.ending.may_retry else None,
        )

    def _finish(
        self,
        run_id: UUID,
        change: Callable[[Run], None],
        *,
        retry_now: datetime | None = None,
    ) -> Run:
        run = self.get_run(run_id)
        change(run)
        # The end of the run and its retry are saved in one transaction: a worker that dies
        # between the two can never leave a failed run that its policy says to retry, unretried.
        retry = self._retry_of(run, retry_now) if retry_now is not None else None
        self._save(run, retry)
        return run

    def succeed_run(self, run_id: UUID, *, exit_code: int | None = 0) -> Run:
        return self._finish(run_id, lambda run: run.succeed(exit_code))

    def fail_run(
        self,
        run_id: UUID,
        *,
        exit_code: int | None,
        error: str | None,
        retry_now: datetime | None = None,
    ) -> Run:
        """Record a failure; with `retry_now`, also request the retry the job's policy asks for."""
        return self._finish(run_id, lambda run: run.fail(exit_code, error), retry_now=retry_now)

    def time_out_run(self, run_id: UUID, *, retry_now: datetime | None = None) -> Run:
        return self._finish(run_id, lambda run: run.time_out(), retry_now=retry_now)

    def cancel_run(self, run_id: UUID, *, actor: str) -> Run:
        return self._finish(run_id, lambda run: run.request_cancel(actor))

    def confirm_cancelled(self, run_id: UUID) -> Run:
        return self._finish(run_id, lambda run: run.confirm_cancelled())

    def skip_run(self, run_id: UUID, *, reason: str) -> Run:
        return self._finish(run_id, lambda run: run.skip(reason))

    def give_up_run(self, run_id: UUID, *, reason: str) -> Run:
        """Fail a queued run that no live worker can run (not retried: a retry would wait
        for the same missing worker)."""
        return self._finish(run_id, lambda run: run.give_up(reason))

    def abandon_run(self, run_id: UUID, *, reason: str, retry_now: datetime | None = None) -> Run:
        return self._finish(run_id, lambda run: run.abandon(reason), retry_now=retry_now)

    def retry_run_for(self, run_id: UUID) -> Run | None:
        """The retry requested for this run, if any (its id is derived, so no index is needed)."""
        run = self.get_run(run_id)
        try:
            return self.get_run(run_model.retry_run_id(run.id, run.attempt + 1))
        except NotFound:
            return None

    def _retry_of(self, run: Run, now: datetime) -> Run | None:
        """The next attempt of a run that just failed, timed out or was abandoned, if the
        job's retry policy asks for one; else None.

        The retry runs the job as it is now (a fixed program is what a retry should pick up)
        with the failed run's parameters, not before the time the policy sets (`RetryPolicy`).
        Its id derives from (failed run, attempt), so it is created once.
        No retry for a job deleted or disabled since: nobody wants it run again.
        """
        try:
            job = self._load("job", Job, run.job_id)
        except NotFound:
            return None
        if job.deleted or not job.enabled:
            return None
        policy = RetryPolicy.from_policies(job.policies)
        if not policy.retries_after(run.status) or not policy.allows(run.attempt):
            return None
        return run_model.request(
            job_id=job.id,
            job_version=job.version,
            job_name=job.name,
            job_type=job.job_type,
            trigger="retry",
            requested_by="system:retry",
            parameters=run.parameters,
            overrides=run.overrides,
            log_level=job.log_level,
            timeout_seconds=job.timeout_seconds,
            scheduled_for=policy.next_attempt_at(run.attempt, now),
            attempt=run.attempt + 1,
            retry_of=run.id,
            run_id=run_model.retry_run_id(run.id, run.attempt + 1),
        )

    # The run's log: its own stream, written by the one worker that runs it.

    def open_run_log(self, run: Run) -> RunLog:
        """Start the log stream of a run, with the run's threshold. Saved with the first batch."""
        return open_log(run.id, run.log_level)

    def record_log_entries(
        self,
        log: RunLog,
        entries: Iterable[tuple[datetime, LogLevel, str]],
    ) -> int:
        """Append a batch to the log as one event (its entries already passed the threshold)."""
        kept = log.record(entries)
        if log.pending_events:
            self._save(log)
        return kept

    def run_log(self, run_id: UUID) -> RunLog:
        return self._load("run log", RunLog, run_log_id(run_id))

    # The one door to plain secret values, for the engine at run time.

    def secrets_for_run(self, run: Run, job: Job | None = None) -> dict[str, str]:
        """Decrypt the secrets of the job version the run executes with. A caller that has
        just loaded that version (`job_for_run`) passes it, saving a second load."""
        if job is None or job.id != run.job_id or job.version != run.job_version:
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
