"""The run-log read model: every kept log entry of every run, by (log id, seq).

Log entries are the bulk of all data, so folding does no per-entry work at all: it keeps
each event's entry list as it is, and the view streams them to the database (COPY on
PostgreSQL, executemany on SQLite). Rows are keyed by the log stream's id, which is derived
from the run id (`domain.run_log.run_log_id`), so queries by run need no mapping table.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking

from domain.log_level import LogLevel
from domain.run_log import Entry, RunLog
from projections.base import BatchProjection, BatchView

# Level number -> name, for query results.
LEVEL_NAMES = {int(level): level.name for level in LogLevel}


@dataclass
class LogsChanges:
    """A batch of log entries: (log id, [[seq, "ISO-8601Z", level, message], ...]) per event."""

    batches: list[tuple[UUID, list[Entry]]] = field(default_factory=list)

    def __len__(self) -> int:
        return sum(len(entries) for _, entries in self.batches)


class LogsView(BatchView):
    """The logs view: appends `LogsChanges`, pages through one run's entries."""

    name = "logs"  # the tracking name: Tracking("logs", notification_id)

    @abstractmethod
    def apply(self, changes: LogsChanges, tracking: Tracking) -> None:
        """Append the batch's entries and record `tracking` in one transaction."""

    @abstractmethod
    def count_entries(self) -> int:
        """How many entries the view holds, all runs: kept as a running total beside the
        entries, in the same transaction, so /metrics never counts a table of millions."""

    @abstractmethod
    def entries(
        self,
        run_id: UUID,
        *,
        min_level: LogLevel | str | int | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Entries of a run with seq > `after`, in seq order: [{seq, at, level, message}]
        (`level` by name, e.g. "Warning"), and the `after` of the next page, or None when
        there are no more entries (yet: a running job's log may still grow).
        """


def level_name(level: int) -> str:
    return LEVEL_NAMES.get(level) or str(level)


def min_level_number(min_level: LogLevel | str | int | None) -> int | None:
    """The threshold as its number; InvalidInput (from LogLevel.parse) if it is not a level."""
    return None if min_level is None else int(LogLevel.parse(min_level, "min_level"))


class LogsProjection(BatchProjection[LogsView]):
    """Keeps the logs view from RunLog.EntriesRecorded events."""

    name = "logs"
    event_classes = (RunLog.EntriesRecorded,)

    def new_changes(self) -> LogsChanges:
        return LogsChanges()

    def fold(self, changes: LogsChanges, event: Any) -> None:
        if type(event) is RunLog.EntriesRecorded:
            changes.batches.append((event.originator_id, event.entries))
