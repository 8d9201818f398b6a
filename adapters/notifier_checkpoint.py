"""The notifier's position in the event log, in a table of the same store.

One row per notifier group: "every run outcome up to this notification id has been
decided". Notifiers write it after each page of decisions, only ever forward. It is a hint,
not the record: losing it re-reads outcomes, whose decisions are not made twice.
"""

from __future__ import annotations

from pathlib import Path

from adapters.named_positions import PostgresNamedPosition, SQLiteNamedPosition

TABLE = "jobledger_notifier_position"


class SQLiteNotifierPosition(SQLiteNamedPosition):
    def __init__(self, path: str | Path, name: str = "default") -> None:
        super().__init__(path, TABLE, "position", name)

    def load(self) -> int:
        return self._load() or 0

    def save(self, position: int) -> None:
        self._save(position)


class PostgresNotifierPosition(PostgresNamedPosition):
    def __init__(self, conninfo: str, schema: str, name: str = "default") -> None:
        super().__init__(conninfo, schema, TABLE, "position", "BIGINT", name)

    def load(self) -> int:
        value = self._load()
        return 0 if value is None else int(str(value))

    def save(self, position: int) -> None:
        self._save(position)
