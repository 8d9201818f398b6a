"""The states a run goes through, named once for the whole product."""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """A run's status. A `StrEnum`, so a status is its own name in events, views and JSON."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    ABANDONED = "abandoned"

    @property
    def is_finished(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)


# Queued or running: the statuses of a run that is not over.
ACTIVE_STATUSES: frozenset[RunStatus] = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})
FINISHED_STATUSES: frozenset[RunStatus] = frozenset(set(RunStatus) - ACTIVE_STATUSES)
