"""The Run aggregate: one execution of a job, from request to outcome.

A run is a small state machine. Its log lives on a stream of its own (`domain.run_log`), so
recording the outcome of a run never replays thousands of log events.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import Conflict
from domain.run_status import FINISHED_STATUSES, RunStatus

# A run's `trigger` is one of these kinds; a webhook's reads "webhook:<trigger name>".
TRIGGERS = ("schedule", "manual", "retry", "webhook", "rerun")
MAX_ERROR_LENGTH = 4_000

# Fixed namespace for the name-based ids of scheduled runs. Never change it: two scheduler
# processes must derive the same id for the same (job, fire time) to collide in the store.
SCHEDULED_RUN_NAMESPACE = uuid5(NAMESPACE_URL, "https://jobledger.dev/ns/scheduled-run")


def scheduled_run_id(job_id: UUID, fire_time: datetime) -> UUID:
    """The id of the run for one slot of a job's schedule: the same slot gives the same id."""
    if fire_time.tzinfo is None:
        raise ValueError("fire_time must be timezone-aware")
    # The instant in whole microseconds since the epoch: independent of the zone it is
    # written in, so every scheduler derives the same id for the same slot.
    micros = round(fire_time.timestamp() * 1_000_000)
    return uuid5(SCHEDULED_RUN_NAMESPACE, f"{job_id}/{micros}")


# Fixed namespace for the ids of retries: a retry's id is a name-based UUID of (the run it
# retries, its attempt number), so two workers or reapers that both decide to retry the same
# failed run create one retry between them. Never change it.
RETRY_RUN_NAMESPACE = uuid5(NAMESPACE_URL, "https://jobledger.dev/ns/retry-run")


def retry_run_id(run_id: UUID, attempt: int) -> UUID:
    """The id of attempt `attempt` retrying the run `run_id`: the same inputs, the same id."""
    return uuid5(RETRY_RUN_NAMESPACE, f"{run_id}/{attempt}")


def trigger_kind(trigger: str) -> str:
    """ "webhook" for "webhook:<name>"; any other trigger is its own kind."""
    kind, colon, name = trigger.partition(":")
    if kind == "webhook":
        return kind if colon and name else ""
    return trigger


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_ERROR_LENGTH:
        return text
    return text[: MAX_ERROR_LENGTH - 1] + "…"


class Run(Aggregate):
    """One execution of a job at a given job version."""

    class Requested(Aggregate.Created):
        job_id: UUID
        job_version: int
        job_name: str
        job_type: str
        trigger: str
        scheduled_for: datetime | None
        requested_by: str
        parameters: dict[str, Any]
        log_level: str
        timeout_seconds: int | None
        attempt: int
        retry_of: UUID | None
        # The parameter keys the requester overrode (run now); `parameters` already holds
        # their values, merged over the job's. Last, with a default, so requests stored
        # before it existed still decode (as none overridden).
        overrides: tuple[str, ...] = ()
        # The run this one reruns (trigger "rerun"); a default, so older requests decode.
        rerun_of: UUID | None = None

    class Started(Aggregate.Event):
        worker: str
        attempt: int

        def apply(self, run: Run) -> None:
            run.status = RunStatus.RUNNING
            run.worker = self.worker
            run.started_at = self.timestamp

    class Finished(Aggregate.Event):
        """Base of the events that end a run.

        Each ending event carries `discarded_entries`: how many log entries the worker
        discarded below the run's threshold. Declared last in each subclass, with a default,
        so events stored before it existed still decode (as 0).
        """

        status: ClassVar[RunStatus]  # a class constant, not a field of the stored event

        def apply(self, run: Run) -> None:
            run.status = self.status
            run.finished_at = self.timestamp
            run.discarded_entries = getattr(self, "discarded_entries", 0)

    class Succeeded(Finished):
        status = RunStatus.SUCCEEDED
        exit_code: int | None
        discarded_entries: int = 0

        def apply(self, run: Run) -> None:
            super().apply(run)
            run.exit_code = self.exit_code

    class Failed(Finished):
        status = RunStatus.FAILED
        exit_code: int | None
        error: str | None
        discarded_entries: int = 0

        def apply(self, run: Run) -> None:
            super().apply(run)
            run.exit_code = self.exit_code
            run.error = self.error

    class TimedOut(Finished):
        status = RunStatus.TIMED_OUT
        timeout_seconds: int
        discarded_entries: int = 0

        def apply(self, run: Run) -> None:
            super().apply(run)
            run.error = f"timed out after {self.timeout_seconds} s"

    class CancelRequested(Aggregate.Event):
        """Someone asked to stop the run. It names the run's job, so the audit trail can
        say whose run was cancelled without another stream; declared with defaults, so
        events stored before they existed still decode (as None)."""

        actor: str
        job_id: UUID | None = None
        job_name: str | None = None

        def apply(self, run: Run) -> None:
            run.cancel_requested_by = self.actor

    class Cancelled(Finished):
        status = RunStatus.CANCELLED
        actor: str
        discarded_entries: int = 0

    class Skipped(Finished):
        status = RunStatus.SKIPPED
        reason: str
        discarded_entries: int = 0

        def apply(self, run: Run) -> None:
            super().apply(run)
            run.error = self.reason

    class Abandoned(Finished):
        status = RunStatus.ABANDONED
        reason: str
        discarded_entries: int = 0

        def apply(self, run: Run) -> None:
            super().apply(run)
            run.error = self.reason

    class LogPurged(Aggregate.Event):
        """The run's log was deleted from the store by retention: how many entries, why
        (e.g. "log_retention_days=30"); the event's timestamp says when."""

        entries: int
        reason: str

        def apply(self, run: Run) -> None:
            run.log_purged_at = self.timestamp

    class Reduced(Aggregate.Event):
        """The run passed its job's run retention: its log is gone and the views forget it.
        Its stream keeps these few small events on purpose: a scheduled run's id is derived
        from its slot, so a stream deleted outright would let a scheduler catching up on
        missed slots create the run again; this one makes that a version conflict."""

        reason: str

        def apply(self, run: Run) -> None:
            run.reduced_at = self.timestamp

    def __init__(
        self,
        *,
        job_id: UUID,
        job_version: int,
        job_name: str,
        job_type: str,
        trigger: str,
        scheduled_for: datetime | None,
        requested_by: str,
        parameters: dict[str, Any],
        log_level: str,
        timeout_seconds: int | None,
        attempt: int,
        retry_of: UUID | None,
        overrides: Sequence[str] = (),
        rerun_of: UUID | None = None,
    ) -> None:
        self.job_id = job_id
        self.rerun_of = rerun_of
        self.job_version = job_version
        self.job_name = job_name
        self.job_type = job_type
        self.trigger = trigger
        self.scheduled_for = scheduled_for
        self.requested_by = requested_by
        self.parameters = parameters
        self.log_level = log_level
        self.timeout_seconds = timeout_seconds
        self.attempt = attempt
        self.retry_of = retry_of
        self.overrides = list(overrides)
        self.status = RunStatus.QUEUED
        self.worker: str | None = None
        self.started_at: datetime | None = None
        self.finished_at: datetime | None = None
        self.exit_code: int | None = None
        self.error: str | None = None
        self.cancel_requested_by: str | None = None
        self.discarded_entries = 0
        self.log_purged_at: datetime | None = None
        self.reduced_at: datetime | None = None

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    def _require(self, *statuses: RunStatus, action: str) -> None:
        if self.status not in statuses:
            raise Conflict(f"run {self.id} is {self.status}; cannot {action}")

    def start(self, worker: str) -> None:
        self._require(RunStatus.QUEUED, action="start it")
        self.trigger_event(self.Started, worker=worker, attempt=self.attempt)

    def succeed(self, exit_code: int | None = 0, *, discarded_entries: int = 0) -> None:
        self._require(RunStatus.RUNNING, action="record success")
        self.trigger_event(self.Succeeded, exit_code=exit_code, discarded_entries=discarded_entries)

    def fail(self, exit_code: int | None, error: str | None, *, discarded_entries: int = 0) -> None:
        self._require(RunStatus.RUNNING, action="record failure")
        self.trigger_event(
            self.Failed,
            exit_code=exit_code,
            error=_clip(error),
            discarded_entries=discarded_entries,
        )

    def time_out(self, *, discarded_entries: int = 0) -> None:
        self._require(RunStatus.RUNNING, action="record a timeout")
        self.trigger_event(
            self.TimedOut,
            timeout_seconds=self.timeout_seconds or 0,
            discarded_entries=discarded_entries,
        )

    def request_cancel(self, actor: str) -> None:
        """Ask to stop the run. A queued run is cancelled at once; a running one by its worker."""
        self._require(RunStatus.QUEUED, RunStatus.RUNNING, action="cancel it")
        if self.cancel_requested_by is None:
            self.trigger_event(
                self.CancelRequested, actor=actor, job_id=self.job_id, job_name=self.job_name
            )
        if self.status == RunStatus.QUEUED:
            self.trigger_event(self.Cancelled, actor=actor)

    def confirm_cancelled(self, *, discarded_entries: int = 0) -> None:
        self._require(RunStatus.RUNNING, action="record cancellation")
        self.trigger_event(
            self.Cancelled,
            actor=self.cancel_requested_by or "system",
            discarded_entries=discarded_entries,
        )

    def give_up(self, reason: str) -> None:
        """Fail a run that never started: no live worker could run its job type in time."""
        self._require(RunStatus.QUEUED, action="give up on it")
        self.trigger_event(self.Failed, exit_code=None, error=_clip(reason))

    def skip(self, reason: str) -> None:
        self._require(RunStatus.QUEUED, action="skip it")
        self.trigger_event(self.Skipped, reason=reason)

    def abandon(self, reason: str, *, discarded_entries: int = 0) -> None:
        self._require(RunStatus.QUEUED, RunStatus.RUNNING, action="abandon it")
        self.trigger_event(
            self.Abandoned, reason=_clip(reason) or "", discarded_entries=discarded_entries
        )


def purge_log(run: Run, entries: int, reason: str) -> None:
    """Record that retention deleted the finished run's log (Conflict if not finished)."""
    if not run.is_finished:
        raise Conflict(f"run {run.id} is {run.status}; its log is kept until it ends")
    if run.log_purged_at is None:
        run.trigger_event(Run.LogPurged, entries=entries, reason=reason)


def reduce(run: Run, reason: str) -> None:
    """Record that the finished run passed its retention (Conflict if not finished)."""
    if not run.is_finished:
        raise Conflict(f"run {run.id} is {run.status}; it is kept until it ends")
    if run.reduced_at is None:
        run.trigger_event(Run.Reduced, reason=reason)


def request(
    *,
    job_id: UUID,
    job_version: int,
    job_name: str,
    job_type: str,
    trigger: str,
    requested_by: str,
    parameters: dict[str, Any],
    log_level: str,
    timeout_seconds: int | None,
    scheduled_for: datetime | None = None,
    attempt: int = 1,
    retry_of: UUID | None = None,
    run_id: UUID | None = None,
    overrides: Sequence[str] = (),
    rerun_of: UUID | None = None,
) -> Run:
    """Create a run request. Scheduled runs take their name-based id from (job, fire time).

    `parameters` are the run's effective parameters (the job's with any overrides merged in;
    never secrets); `overrides` names the keys that were overridden."""
    if trigger_kind(trigger) not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}")
    if run_id is None:
        if trigger == "schedule":
            if scheduled_for is None:
                raise ValueError("a scheduled run needs its fire time")
            run_id = scheduled_run_id(job_id, scheduled_for)
        else:
            run_id = uuid4()
    return Run._create(
        Run.Requested,
        id=run_id,
        job_id=job_id,
        job_version=job_version,
        job_name=job_name,
        job_type=job_type,
        trigger=trigger,
        scheduled_for=scheduled_for,
        requested_by=requested_by,
        parameters=parameters,
        log_level=log_level,
        timeout_seconds=timeout_seconds,
        attempt=attempt,
        retry_of=retry_of,
        overrides=tuple(sorted(overrides)),
        rerun_of=rerun_of,
    )
