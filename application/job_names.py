"""Keeping job names unique in the event store itself.

Each name has a reservation stream (`domain.job_name.JobName`) saved in the same write as
the job's events. Claiming a name creates its stream, or appends `Taken` at the next
version of a released one; two writers claiming the same name therefore write the same
stream position and the store refuses one of them, whichever process they run in.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application

from domain.errors import NameTaken
from domain.job_name import JobName, job_name_id, normalize, reserve


def _reservation(app: Application[UUID], name: str) -> JobName | None:
    try:
        found: object = app.repository.get(job_name_id(name))
    except AggregateNotFoundError:
        return None
    return found if isinstance(found, JobName) else None


def claim(app: Application[UUID], name: str, job_id: UUID) -> JobName | None:
    """The reservation to save with the job's events, or NameTaken if another job holds it.
    None when this job holds it already."""
    reservation = _reservation(app, name)
    if reservation is None:
        return reserve(name, job_id)
    if reservation.holder == job_id:
        return None
    if reservation.holder is not None:
        raise NameTaken(name)
    reservation.take(name, job_id)
    return reservation


def release(app: Application[UUID], name: str, job_id: UUID) -> JobName | None:
    """The released reservation to save, or None when there is nothing to release (a job
    registered before names were reserved has none)."""
    reservation = _reservation(app, name)
    if reservation is None or reservation.holder != job_id:
        return None
    reservation.release(job_id)
    return reservation


def renaming(app: Application[UUID], old: str, new: str, job_id: UUID) -> list[JobName]:
    """The reservations a rename changes: the new name claimed, the old one released.
    A change of case or spacing only keeps the same reservation."""
    if normalize(old) == normalize(new):
        return []
    claimed = claim(app, new, job_id)
    released = release(app, old, job_id)
    return [r for r in (claimed, released) if r is not None]


def holder_of(app: Application[UUID], name: str) -> UUID | None:
    reservation = _reservation(app, name)
    return None if reservation is None else reservation.holder


def held_by_other(app: Application[UUID], name: str, job_id: UUID) -> bool:
    """After a refused write: did another job take the name meanwhile?"""
    reservation = _reservation(app, name)
    return reservation is not None and reservation.holder not in (None, job_id)
