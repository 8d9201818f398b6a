"""The audit read model: who changed which job, when, from what to what.

One row per Job event, every kind including Registered and Deleted, keyed by (job id,
version): unique, and the order of a job's history. Global listings go newest first by
(at, job id, version). Each row carries the job's name at the time: known from the batch
when the job was registered or renamed in it, else taken by the view from the job's
previous audit row. `changes` is `Job.Event.changes()`, which names secrets but never holds
a secret's ciphertext.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking

from domain.errors import InvalidInput
from domain.job import Job
from projections.base import BatchProjection, BatchView, decode_cursor, encode_cursor

AUDIT_COLUMNS = ("job_id", "version", "job_name", "event", "at", "actor", "changes")

# Every Job event class: all of them are configuration changes worth auditing. (The
# aggregate's metaclass also makes a `Created` class that the Job never uses: Registered
# is its created event.)
JOB_EVENTS: tuple[type, ...] = tuple(
    cls
    for name, cls in vars(Job).items()
    if isinstance(cls, type) and issubclass(cls, Job.Event) and name not in ("Event", "Created")
)


@dataclass
class AuditChanges:
    """A batch of Job events as audit rows (AUDIT_COLUMNS); job_name None until resolved."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    names: dict[UUID, str] = field(default_factory=dict)  # latest name seen in the batch

    def unnamed_job_ids(self) -> list[UUID]:
        """Jobs whose name the batch does not tell: the view looks up their last audit row."""
        return list({row["job_id"]: None for row in self.rows if row["job_name"] is None})

    def resolve_names(self, names: dict[UUID, str]) -> None:
        """Fill in the names of `unnamed_job_ids` (an unknown job keeps None)."""
        for row in self.rows:
            if row["job_name"] is None:
                row["job_name"] = names.get(row["job_id"])


class AuditView(BatchView):
    """The audit view: appends `AuditChanges`, answers history and audit queries.

    An audit entry dict has: job_id, version, job_name, event (the event class name, e.g.
    "Renamed"), at, actor, changes ({field: {"from": old, "to": new}}).
    """

    name = "audit"  # the tracking name: Tracking("audit", notification_id)

    @abstractmethod
    def apply(self, changes: AuditChanges, tracking: Tracking) -> None:
        """Append the batch's rows and record `tracking` in one transaction."""

    @abstractmethod
    def history(self, job_id: UUID) -> list[dict[str, Any]]:
        """Every audit entry of one job, in version order (deleted jobs included)."""

    @abstractmethod
    def entries(
        self,
        *,
        job_id: UUID | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of audit entries, newest first by (at, job_id, version), and the next
        page's cursor or None. `since` is inclusive and `until` exclusive, on `at`.
        """


def audit_cursor(entry: dict[str, Any]) -> str:
    return encode_cursor(entry["at"], str(entry["job_id"]), entry["version"])


def parse_audit_cursor(cursor: str) -> tuple[datetime, UUID, int]:
    at, job_id, version = decode_cursor(cursor, 3)
    try:
        if not isinstance(version, int):
            raise ValueError
        return datetime.fromisoformat(at), UUID(job_id), version
    except (ValueError, TypeError, AttributeError):
        raise InvalidInput("cursor", "is not a cursor this service issued") from None


class AuditProjection(BatchProjection[AuditView]):
    """Keeps the audit view from Job events."""

    name = "audit"
    event_classes = JOB_EVENTS

    def new_changes(self) -> AuditChanges:
        return AuditChanges()

    def fold(self, changes: AuditChanges, event: Any) -> None:
        if not isinstance(event, Job.Event):
            return
        job_id = event.originator_id
        if isinstance(event, (Job.Registered, Job.Renamed)):
            changes.names[job_id] = event.name
        changes.rows.append(
            {
                "job_id": job_id,
                "version": event.originator_version,
                "job_name": changes.names.get(job_id),
                "event": type(event).__name__,
                "at": event.timestamp,
                "actor": event.actor,
                "changes": event.changes(),
            }
        )
