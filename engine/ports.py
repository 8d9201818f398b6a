"""The engine's ports: what a worker needs from the world, in one place.

Adapters implement them (`adapters.worker_leases.PostgresWorkerLeases` is a `WorkerLeases`,
`adapters.worker_capabilities_*` are `WorkerCapabilities`); the application (`JobLedger`) is a
`LogWriter`; the runs projection's view is a `RunsSnapshot`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from domain.log_level import LogLevel
from domain.run_log import RunLog
from jobtypes import Availability

# One log entry as the worker hands it over: when, at which level, what.
LogEntry = tuple[datetime, LogLevel, str]


class WorkerLeases(Protocol):
    """How workers tell a dead worker from a live one: leases each worker renews, and that
    others may take over only once expired by a grace period (PostgreSQL: a lease table)."""

    def hold(self, worker_id: str) -> None:
        """Take a lease for this worker id (refused while a live worker holds it)."""
        ...

    def renew(self) -> None:
        """Push our lease's expiry forward; raises when the store cannot be reached."""
        ...

    def expired(self, worker_ids: Iterable[str]) -> set[str]:
        """Which of these workers' leases expired more than the grace period ago (or are
        released). Raises when the store cannot be reached: then nothing is abandoned."""
        ...

    def release(self) -> None:
        """Give the lease up, on a clean stop."""
        ...


@dataclass(frozen=True)
class Capability:
    """What one live worker found when it probed one job type at its start."""

    worker_id: str
    job_type: str
    available: bool
    reason: str | None = None
    detail: str | None = None


class WorkerCapabilities(Protocol):
    """Which job types each live worker can run: recorded by each worker at its start,
    forgotten at its stop, and read by workers (to give up on runs nobody can run) and by
    the API (to warn). A worker counts as live while its lease does (PostgreSQL); on the
    embedded store, while the one process that wrote it runs."""

    def record(self, worker_id: str, capabilities: Mapping[str, Availability]) -> None:
        """Replace this worker's record with `capabilities` (job type name -> verdict)."""
        ...

    def live(self) -> list[Capability]:
        """Every live worker's verdict on every job type it knows. Raises when the store
        cannot be reached."""
        ...

    def forget(self, worker_id: str) -> None:
        """Drop this worker's record (a clean stop)."""
        ...

    def close(self) -> None: ...


class LogWriter(Protocol):
    """Where a run's log batches go (`JobLedger.record_log_entries`, `run_log`)."""

    def record_log_entries(self, log: RunLog, entries: Iterable[LogEntry]) -> int:
        """Append one batch to the log as one event; returns how many entries it kept."""
        ...

    def run_log(self, run_id: UUID) -> RunLog:
        """The run's log as stored (NotFound before its first batch)."""
        ...


class RunsSnapshot(Protocol):
    """The part of the runs view a worker starts from instead of replaying all history."""

    def max_tracking_id(self, application_name: str) -> int | None:
        """The notification id the view has processed up to."""
        ...

    def running_runs(self) -> list[dict[str, Any]]:
        """Runs now running: [{id, job_id, worker, started_at}]."""
        ...

    def list_runs(
        self,
        *,
        job_id: UUID | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of runs and the next page's cursor."""
        ...
