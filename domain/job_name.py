"""A job name's reservation: one stream per normalized name, so the event store itself
keeps names unique. Its id is derived from the name, so two writers claiming the same name
write to the same stream and the store's optimistic concurrency lets only one of them win.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

JOB_NAME_NAMESPACE = uuid5(NAMESPACE_URL, "https://jobledger.dev/ns/job-name")


def normalize(name: str) -> str:
    """Names differing only in case or surrounding space are the same name."""
    return name.strip().casefold()


def job_name_id(name: str) -> UUID:
    return uuid5(JOB_NAME_NAMESPACE, normalize(name))


class JobName(Aggregate):
    """Who holds a name: a job's id, or None once that job released it."""

    class Reserved(Aggregate.Created):
        name: str
        job_id: UUID

    class Taken(Aggregate.Event):
        name: str
        job_id: UUID

        def apply(self, reservation: JobName) -> None:
            reservation.holder = self.job_id

    class Released(Aggregate.Event):
        job_id: UUID

        def apply(self, reservation: JobName) -> None:
            reservation.holder = None

    def __init__(self, *, name: str, job_id: UUID) -> None:
        self.holder: UUID | None = job_id

    def take(self, name: str, job_id: UUID) -> None:
        """Take a released name. A new event at the next version, so two jobs taking it at
        once conflict in the store."""
        if self.holder is None:
            self.trigger_event(self.Taken, name=name, job_id=job_id)

    def release(self, job_id: UUID) -> None:
        # Only its holder releases a name: a job registered before names were reserved may
        # share its name with the holder, and deleting it must not free the holder's name.
        if self.holder == job_id:
            self.trigger_event(self.Released, job_id=job_id)


def reserve(name: str, job_id: UUID) -> JobName:
    return JobName._create(JobName.Reserved, id=job_name_id(name), name=name, job_id=job_id)


# The fixed id of the record that the names of jobs registered before reservations existed
# have been reserved (`application.name_backfill`). Never change it.
NAMES_BACKFILLED_ID = uuid5(JOB_NAME_NAMESPACE, "backfill-of-jobs-registered-before-the-rule")


class NamesBackfilled(Aggregate):
    """Once saved, start-ups skip the backfill instead of reading the whole log again."""

    class Recorded(Aggregate.Created):
        reserved: int
        shared: int

    def __init__(self, *, reserved: int, shared: int) -> None:
        self.reserved = reserved
        self.shared = shared


def names_backfilled(reserved: int, shared: int) -> NamesBackfilled:
    return NamesBackfilled._create(
        NamesBackfilled.Recorded, id=NAMES_BACKFILLED_ID, reserved=reserved, shared=shared
    )
