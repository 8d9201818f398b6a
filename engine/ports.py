"""The engine's ports: what a worker needs from the world, in one place.

Adapters implement them (`adapters.worker_leases.PostgresWorkerLeases` is a `WorkerLeases`);
the application (`JobLedger`) is a `LogWriter`; the runs projection's view is a `RunsSnapshot`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from domain.log_level import LogLevel
from domain.run_log import RunLog

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
