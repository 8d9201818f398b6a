"""The scheduler's command: request the runs of the slots that fell due, in one transaction.

The scheduler knows each job from the job events it follows, so it hands over what a run
request records (`JobTemplate`) rather than having 10,000 jobs loaded from the store in the
second they fall due. Slots that will not run are recorded too, as runs requested and
skipped in the same write, under the same name-based id, so the history has no silent holes
and a second scheduler cannot run a slot the first one skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import RecordConflictError, Recording

from application.base import LedgerBase
from domain import run as run_model
from domain.run import Run
from domain.run_status import RunStatus

SCHEDULER_ACTOR = "scheduler"


@dataclass(frozen=True, slots=True)
class JobTemplate:
    """What a scheduled run copies from its job, at the job version it was made from."""

    job_id: UUID
    job_version: int
    job_name: str
    job_type: str
    parameters: dict[str, Any]
    log_level: str
    timeout_seconds: int | None


@dataclass(frozen=True, slots=True)
class SlotRequest:
    """One slot of one job: a run to request, or (with `skip_reason`) a slot recorded as skipped."""

    job: JobTemplate
    fire_time: datetime
    skip_reason: str | None = None
    # The slot's name-based run id, derived once (a uuid5 is not free at 10,000 a second).
    run_id: UUID = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "run_id", run_model.scheduled_run_id(self.job.job_id, self.fire_time)
        )


@dataclass
class FiringResult:
    """What a batch did: the runs now in the store from this call, and the slots another
    scheduler had already recorded (their ids)."""

    saved: list[Run] = field(default_factory=list)
    already_fired: list[UUID] = field(default_factory=list)
    notification_id: int | None = None  # the last one this call stored, if any

    @property
    def requested(self) -> int:
        return sum(1 for run in self.saved if run.status == RunStatus.QUEUED)

    @property
    def skipped(self) -> int:
        return sum(1 for run in self.saved if run.status == RunStatus.SKIPPED)


class FiringCommands(LedgerBase):
    """Mixed into the application: the scheduler's side of the run lifecycle."""

    def request_scheduled(
        self,
        slots: Sequence[SlotRequest],
        *,
        actor: str = SCHEDULER_ACTOR,
        unfired: Callable[[Sequence[SlotRequest]], Sequence[SlotRequest]] | None = None,
    ) -> FiringResult:
        """Record every slot in ONE transaction; if another scheduler got to some slot
        first, fall back to one write per slot and report those as already fired.

        `unfired`, if given, is asked after a conflict which slots still lack a record (the
        scheduler reads the log it follows): when a second scheduler fired the same batch,
        that costs one read instead of a failed write per slot.
        """
        result = FiringResult()
        if not slots:
            return result
        runs = [_build(slot, actor) for slot in slots]
        try:
            return self._saved(result, runs, self._save_runs(runs))
        except RecordConflictError:
            pass
        if unfired is not None:
            remaining = list(unfired(slots))
            still = {slot.run_id for slot in remaining}
            result.already_fired.extend(s.run_id for s in slots if s.run_id not in still)
            if not remaining:
                return result
            runs = [_build(slot, actor) for slot in remaining]
            try:
                return self._saved(result, runs, self._save_runs(runs))
            except RecordConflictError:
                slots = remaining
        # The batch rolled back whole and its runs gave up their pending events, so build
        # each run again and write it on its own.
        for slot in slots:
            run = _build(slot, actor)
            try:
                self._saved(result, [run], self.save(run))
            except RecordConflictError:
                result.already_fired.append(run.id)
        return result

    def _save_runs(self, runs: list[Run]) -> list[Recording[UUID]]:
        """`save(*runs)`, minus its check of every object against two runtime Protocols
        (about 20 µs each on Python 3.11: a quarter of the cost of 10,000 requests). These
        are known to be aggregates; their events are recorded in one transaction, as
        `save` records them, and the listeners are told the same way.

        eventsourcing 9.5 (9.5.6 here) has no public way to save without those checks:
        `Application.save` and `ProcessingEvent.collect_events` both make them, and
        `EventStore.put` would skip the repository cache and the snapshots that `save` takes
        care of. So this calls the two private steps `save` is made of (`_record`,
        `_take_snapshots`); `_notify` is our own override (LedgerBase). Check them again when
        eventsourcing is upgraded."""
        processing: ProcessingEvent[UUID] = ProcessingEvent()
        for run in runs:
            processing.events.extend(run.collect_events())
            processing.aggregates[run.id] = run
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)
        return recordings

    @staticmethod
    def _saved(result: FiringResult, runs: list[Run], recordings: Sequence[Any]) -> FiringResult:
        result.saved.extend(runs)
        result.notification_id = _last_id(recordings, result.notification_id)
        return result


def _build(slot: SlotRequest, actor: str) -> Run:
    job = slot.job
    run = run_model.request(
        job_id=job.job_id,
        job_version=job.job_version,
        job_name=job.job_name,
        job_type=job.job_type,
        trigger="schedule",
        requested_by=actor,
        parameters=job.parameters,
        log_level=job.log_level,
        timeout_seconds=job.timeout_seconds,
        scheduled_for=slot.fire_time,
        run_id=slot.run_id,
    )
    if slot.skip_reason is not None:
        run.skip(slot.skip_reason)
    return run


def _last_id(recordings: Sequence[Any], previous: int | None) -> int | None:
    ids = [r.notification.id for r in recordings if r.notification.id is not None]
    if previous is not None:
        ids.append(previous)
    return max(ids, default=None)
