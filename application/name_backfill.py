"""Reserving the names of jobs registered before names were reserved.

Stores written before the rule hold jobs with no reservation, so a new job could take one
of their names. Once per store, this walks the jobs' name events in the order they were
stored and reserves each live job's name for the first job that had it; a later job with
the same name keeps working but holds nothing, and the jobs list flags it for renaming.
A record saved at the end makes every later start-up skip the walk.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import RecordConflictError
from eventsourcing.utils import get_topic

from application import job_names
from application.app import JobLedger
from application.event_reader import pages_after
from domain.errors import NameTaken
from domain.job import Job
from domain.job_name import NAMES_BACKFILLED_ID, names_backfilled

_NAME_EVENTS = (Job.Registered, Job.Renamed, Job.Deleted)
_PAGE = 1_000
ACTOR = "system:unique-names"  # the actor of the flags this walk records


@dataclass(frozen=True)
class Backfill:
    reserved: int  # names this walk reserved
    shared: int  # live jobs whose name another, earlier job holds
    skipped: bool  # the store had been backfilled already


def _live_names(app: JobLedger) -> dict[UUID, str]:
    """Each live job's current name, in the order the jobs were registered."""
    names: dict[UUID, str] = {}
    topics = sorted(get_topic(cls) for cls in _NAME_EVENTS)
    for events, _ in pages_after(app, 0, topics, _PAGE):
        for event in events:
            if isinstance(event, Job.Deleted):
                names.pop(event.originator_id, None)
            elif isinstance(event, (Job.Registered, Job.Renamed)):
                # A rename keeps the job's place: dict order is first insertion.
                names[event.originator_id] = event.name
    return names


def _flag_shared(app: JobLedger, job_id: UUID, name: str) -> None:
    """Record on the job that an earlier job holds its name, so the list flags it."""
    holder = job_names.holder_of(app, name)
    if holder is None:
        return
    job = app.get_job(job_id)
    job.flag_shared_name(holder, ACTOR)
    app.save(job)


def reserve_legacy_names(app: JobLedger) -> Backfill:
    """Reserve every unreserved live job's name, first job first; once per store."""
    try:
        app.repository.get(NAMES_BACKFILLED_ID)
        return Backfill(reserved=0, shared=0, skipped=True)
    except AggregateNotFoundError:
        pass
    reserved = shared = 0
    for job_id, name in _live_names(app).items():
        try:
            reservation = job_names.claim(app, name, job_id)
            if reservation is not None:
                app.save(reservation)
                reserved += 1
        except NameTaken:
            _flag_shared(app, job_id, name)
            shared += 1
        except RecordConflictError:
            # Another process reserved it at this moment: its walk decides the same way.
            pass
    # A process walking at the same time may have recorded it first.
    with suppress(RecordConflictError):
        app.save(names_backfilled(reserved, shared))
    return Backfill(reserved=reserved, shared=shared, skipped=False)
