"""What every group of commands shares: the ports, loading aggregates, saving events.

Commands load aggregates (never projections), check the caller's expected version, and
save every event they cause in one atomic write, so bad input writes nothing and a stale
update is refused rather than lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import RecordConflictError, Recording
from eventsourcing.utils import EnvType

from application.ports import JobTypeCatalog, SecretVault
from domain.errors import Conflict, NotFound
from domain.job import Job

A = TypeVar("A", bound=Aggregate)


class LedgerBase(Application[UUID]):
    """The event-sourced application the command groups build on."""

    name = "JobLedger"

    def __init__(
        self,
        *,
        vault: SecretVault,
        job_types: JobTypeCatalog,
        env: EnvType | None = None,
    ) -> None:
        super().__init__(env=env)
        self.vault = vault
        self.job_types = job_types
        self.after_save: list[Callable[[int], None]] = []

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        # In-process listeners (the projection follower, the scheduler) wake at once instead
        # of waiting for their next poll. They get the last notification id saved.
        ids = [r.notification.id for r in recordings if r.notification.id is not None]
        if ids:
            for listener in self.after_save:
                listener(max(ids))

    def _load(self, kind: str, cls: type[A], ident: UUID, version: int | None = None) -> A:
        try:
            aggregate: Aggregate = self.repository.get(ident, version=version)
        except AggregateNotFoundError:
            raise NotFound(kind, ident) from None
        if not isinstance(aggregate, cls):
            raise NotFound(kind, ident)
        return aggregate

    @staticmethod
    def _check_version(kind: str, aggregate: Aggregate, expected: int | None) -> None:
        if expected is not None and expected != aggregate.version:
            raise Conflict(
                f"{kind} {aggregate.id} is at version {aggregate.version}, "
                f"not the expected {expected}; reload it and try again",
                expected=expected,
                actual=aggregate.version,
            )

    def _save(self, *aggregates: Any) -> None:
        try:
            # None stands for "nothing to save" (a name with no reservation to release).
            self.save(*[a for a in aggregates if a is not None])
        except RecordConflictError:
            raise Conflict("it was changed at the same time by someone else; try again") from None

    def get_job(self, job_id: UUID, *, expected_version: int | None = None) -> Job:
        """The current job, for a command to change. Deleted jobs are not found."""
        job = self._load("job", Job, job_id)
        job.check_not_deleted()
        self._check_version("job", job, expected_version)
        return job
