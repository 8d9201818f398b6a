"""What the SQLite views share: value encodings, the write transaction and `drop`.

SQLite has no UUID, timestamp or JSON types, so UUIDs are stored as their canonical text,
times as ISO-8601 UTC text with microseconds (fixed width, so text order is time order),
and JSON as orjson text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import orjson
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteTrackingRecorder

from projections.base import BatchTracking

T = TypeVar("T")

# SQLite allows 32,766 host parameters per statement; stay far below it.
MAX_PARAMETERS = 500

DROP_TRACKING = "DELETE FROM tracking WHERE application_name = ?"
ADVANCE_TRACKING = (
    "UPDATE tracking SET notification_id = ? WHERE application_name = ? AND notification_id = ? "
    "RETURNING notification_id"
)
START_TRACKING = (
    "INSERT INTO tracking VALUES (?, ?) ON CONFLICT (application_name) DO NOTHING "
    "RETURNING notification_id"
)


def ts(at: datetime | None) -> str | None:
    """A time as sortable text: '2025-01-31T02:00:00.000000+00:00'."""
    return None if at is None else at.astimezone(UTC).isoformat(timespec="microseconds")


def dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def uid(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def to_uuid(text: str | None) -> UUID | None:
    return None if text is None else UUID(text)


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def placeholders(count: int) -> str:
    return ", ".join("?" * count)


def chunks(items: Sequence[T], size: int = MAX_PARAMETERS) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SQLiteView(SQLiteTrackingRecorder):
    """A view's tables next to eventsourcing's tracking table, in the same database file."""

    name: str  # the view's tracking name (from the abstract view)
    TABLES: tuple[str, ...] = ()  # dropped by `drop`
    DDL: tuple[str, ...] = ()  # CREATE TABLE / INDEX statements, all IF NOT EXISTS

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.DDL]

    @contextmanager
    def writing(self, tracking: Tracking) -> Iterator[SQLiteCursor]:
        """One write transaction that records `tracking` with whatever the caller writes."""
        with self.datastore.transaction(commit=True) as cursor:
            # Tracking first: a position already recorded fails before any row is written,
            # and the insert takes SQLite's write lock at once, so a second writer waits
            # here rather than failing later with the database busy.
            self._advance_tracking(cursor, tracking)
            yield cursor

    def _advance_tracking(self, cursor: SQLiteCursor, tracking: Tracking) -> None:
        if not isinstance(tracking, BatchTracking):
            self._insert_tracking(cursor, tracking)
            return
        if tracking.previous:
            cursor.execute(
                ADVANCE_TRACKING, (tracking.notification_id, self.name, tracking.previous)
            )
        else:
            cursor.execute(START_TRACKING, (self.name, tracking.notification_id))
        if cursor.fetchone() is None:
            raise IntegrityError(
                f"{self.name} is no longer at position {tracking.previous}: another follower "
                "moved it"
            )

    @contextmanager
    def reading(self) -> Iterator[SQLiteCursor]:
        with self.datastore.transaction(commit=False) as cursor:
            yield cursor

    def drop(self) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            for table in self.TABLES:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(DROP_TRACKING, (self.name,))
