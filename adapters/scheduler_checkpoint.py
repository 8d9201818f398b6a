"""The scheduler's durable watermark, in the same store as the events.

One row per scheduler group: "every slot at or before `handled_until` has been recorded".
Schedulers write it after each batch commits, only ever forward (several schedulers share
the row; any one of them handling an instant handled it for all, since each fires every
job). A restarted scheduler reads it to know which slots it missed. It is a hint, not the
record: losing it at worst re-fires slots, which collide on their name-based run ids.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.named_positions import PostgresNamedPosition, SQLiteNamedPosition

TABLE = "jobledger_scheduler_checkpoint"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(instant: datetime) -> int:
    return (instant - _EPOCH) // timedelta(microseconds=1)


class SQLiteSchedulerCheckpoint(SQLiteNamedPosition):
    """The watermark in a table of the embedded SQLite database, as epoch microseconds."""

    def __init__(self, path: str | Path, name: str = "default") -> None:
        super().__init__(path, TABLE, "handled_until", name)

    def load(self) -> datetime | None:
        micros = self._load()
        return None if micros is None else _EPOCH + timedelta(microseconds=micros)

    def save(self, handled_until: datetime) -> None:
        self._save(_micros(handled_until))


class PostgresSchedulerCheckpoint(PostgresNamedPosition):
    """The watermark in a table of the store's PostgreSQL schema."""

    def __init__(self, conninfo: str, schema: str, name: str = "default") -> None:
        super().__init__(conninfo, schema, TABLE, "handled_until", "TIMESTAMPTZ", name)

    def load(self) -> datetime | None:
        value = self._load()
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.astimezone(UTC)

    def save(self, handled_until: datetime) -> None:
        self._save(handled_until)
