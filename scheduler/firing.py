"""What to record for one job whose slots fell due: the misfire and overlap policies.

A pure function of the job, the instant, the policies and the runs still active, so the
rules are tested without a store or a clock. Every slot between the job's next fire time
and now gets a record: a run request, or a run requested and skipped with a reason (the
history has no silent holes). Slots later than the misfire grace were missed (the
scheduler was down or stalled) and follow the job's misfire policy; the rest fire as usual.
Whatever runs then meets the overlap policy.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import chain
from typing import Any
from uuid import UUID

from application.firing_commands import JobTemplate, SlotRequest
from domain.run_status import RunStatus
from scheduler.job_index import ActiveRun, IndexedJob

MISSED = "missed while the scheduler was down"


@dataclass(frozen=True)
class FiringRules:
    """The scheduler's limits on what one recovery may write per job."""

    misfire_grace: timedelta = timedelta(seconds=60)
    run_all_cap: int = 100  # runs per job per recovery under misfire policy run_all
    skip_record_cap: int = 1_000  # skipped records per job per recovery; the rest: one summary

    def __post_init__(self) -> None:
        if self.misfire_grace < timedelta(0):
            raise ValueError("misfire_grace must not be negative")
        if self.run_all_cap < 1 or self.skip_record_cap < 1:
            raise ValueError("run_all_cap and skip_record_cap must be at least 1")


@dataclass
class Decision:
    """The records for one job's due slots, oldest first, and its next fire time after now."""

    slots: list[SlotRequest] = field(default_factory=list)
    next_fire: datetime | None = None
    missed: int = 0


# Per batch: the slots up to now and the next fire time, by (schedule, next fire time).
# Jobs that share a schedule are due together, and walking it once serves them all.
SlotMemo = dict[tuple[Any, datetime], tuple[tuple[datetime, ...], datetime | None]]
_MEMO_LIMIT = 64  # longer walks (recoveries) are streamed, not kept


def decide(
    job: IndexedJob,
    now: datetime,
    active: ActiveRun | None,
    rules: FiringRules,
    memo: SlotMemo | None = None,
    prepared: SlotRequest | None = None,
) -> Decision:
    """Records for every slot of `job` from its next fire time up to `now` (inclusive).

    `prepared` is the request for the job's next slot, built while waiting for it; it is
    used if the job has not changed since (same version).
    """
    assert job.schedule is not None and job.next_fire is not None
    if prepared is not None and prepared.job.job_version != job.version:
        prepared = None
    template = prepared.job if prepared is not None else job.template()
    decision = Decision()
    late_before = now - rules.misfire_grace
    # Only the newest missed slots can need records of their own; older ones are counted.
    recent: deque[datetime] = deque(maxlen=rules.skip_record_cap + rules.run_all_cap + 1)
    first_missed: datetime | None = None
    on_time: list[datetime] = []
    for slot in _slots_until(job, now, memo):
        if slot > now:
            decision.next_fire = slot
            break
        if slot < late_before:
            decision.missed += 1
            first_missed = first_missed or slot
            recent.append(slot)
        else:
            on_time.append(slot)

    to_run: list[datetime] = []
    if decision.missed:
        assert first_missed is not None
        to_run = _misfire(job, rules, template, decision, list(recent), first_missed, on_time)

    # `active` is the job's oldest run still queued or running; a run requested in this
    # batch counts as active for the job's later slots.
    blocking: tuple[UUID, RunStatus] | None = (active.run_id, active.status) if active else None
    for slot in chain(to_run, on_time):
        if job.overlap == "skip" and blocking is not None:
            run_id, status = blocking
            decision.slots.append(
                SlotRequest(template, slot, f"overlap: run {run_id} still {status}")
            )
            continue
        # "allow" and "queue" both request the run; under "queue" the workers start it only
        # when the job's earlier runs have ended.
        if prepared is not None and prepared.fire_time == slot:
            request = prepared
        else:
            request = SlotRequest(template, slot)
        decision.slots.append(request)
        blocking = blocking or (request.run_id, RunStatus.QUEUED)
    return decision


def _misfire(
    job: IndexedJob,
    rules: FiringRules,
    template: JobTemplate,
    decision: Decision,
    missed: list[datetime],
    first_missed: datetime,
    on_time: list[datetime],
) -> list[datetime]:
    """Apply the job's misfire policy to its newest missed slots (`missed`, oldest first):
    record the ones skipped in `decision` (those beyond the cap as one summary from
    `first_missed`) and return the ones to run."""
    policy = job.misfire
    if policy == "run_all":
        keep = min(rules.run_all_cap, len(missed))
        reason = f"{MISSED}; beyond the run_all cap of {rules.run_all_cap} runs"
    elif policy == "skip":
        keep = 0
        reason = f"{MISSED} (misfire policy skip)"
    else:  # run_once: the missed slots coalesce into one run
        keep = 0 if on_time else 1
        into = on_time[0] if on_time else missed[-1]
        reason = f"{MISSED}; coalesced into the run for {into.isoformat()}"
    skipped = missed[: len(missed) - keep]
    to_run = missed[len(missed) - keep :]
    individual = skipped[-rules.skip_record_cap :]
    remainder = decision.missed - keep - len(individual)
    if remainder:
        last = skipped[-len(individual) - 1]
        summary = (
            f"{reason}: {remainder} slots from {first_missed.isoformat()} "
            f"to {last.isoformat()} not run"
        )
        decision.slots.append(SlotRequest(template, first_missed, summary))
    decision.slots.extend(SlotRequest(template, slot, reason) for slot in individual)
    return to_run


def _slots_until(job: IndexedJob, now: datetime, memo: SlotMemo | None) -> Iterator[datetime]:
    """The job's slots from its next fire time on (that one included), at least up to the
    first one after `now`."""
    assert job.schedule is not None and job.next_fire is not None
    key = (job.schedule, job.next_fire)
    if memo is not None and key in memo:
        due, after = memo[key]
        return chain(due, () if after is None else (after,))
    slots = chain((job.next_fire,), job.schedule.iter_fire_times(job.next_fire))
    head: list[datetime] = []
    for slot in slots:
        if slot > now:
            if memo is not None:
                memo[key] = (tuple(head), slot)
            return chain(head, (slot,))
        head.append(slot)
        if len(head) >= _MEMO_LIMIT:
            return chain(head, slots)
    if memo is not None:
        memo[key] = (tuple(head), None)
    return iter(head)
