"""The logs view in SQLite.

Each event's entry list goes to SQLite as one JSON text and is unpacked by json_each in
SQLite's C code: no Python work per entry at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Tracking

from adapters.sqlite_views.common import SQLiteView
from domain.log_level import LogLevel
from domain.run_log import run_log_id
from projections.base import page_size
from projections.logs import LogsChanges, LogsView, level_name, min_level_number

DDL = (
    # The log id as its 16 bytes: this is the biggest table by far.
    """CREATE TABLE IF NOT EXISTS view_log_entries (
        log_id BLOB NOT NULL,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        level INTEGER NOT NULL,
        message TEXT NOT NULL,
        PRIMARY KEY (log_id, seq)
    ) WITHOUT ROWID""",
    # One row: the running total of entries, updated with each batch.
    "CREATE TABLE IF NOT EXISTS view_log_totals (id INTEGER PRIMARY KEY, entries INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO view_log_totals (id, entries) VALUES (1, 0)",
)

INSERT = (
    "INSERT INTO view_log_entries (log_id, seq, at, level, message)"
    " SELECT ?, value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?)"
)
SELECT = (
    "SELECT seq, at, level, message FROM view_log_entries"
    " WHERE log_id = ? AND seq > ? AND level >= ? ORDER BY seq LIMIT ?"
)


class SQLiteLogsView(SQLiteView, LogsView):
    """The logs view in table view_log_entries, keyed by (log id, seq)."""

    TABLES = ("view_log_entries", "view_log_totals")
    DDL = DDL

    def apply(self, changes: LogsChanges, tracking: Tracking) -> None:
        with self.writing(tracking) as cursor:
            if changes.batches:
                cursor.executemany(
                    INSERT,
                    [(log_id.bytes, orjson.dumps(e).decode()) for log_id, e in changes.batches],
                )
                added = sum(len(entries) for _log_id, entries in changes.batches)
                cursor.execute(
                    "UPDATE view_log_totals SET entries = entries + ? WHERE id = 1", (added,)
                )

    def count_entries(self) -> int:
        with self.reading() as cursor:
            cursor.execute("SELECT entries FROM view_log_totals WHERE id = 1")
            row = cursor.fetchone()
        return int(row[0]) if row else 0

    def entries(
        self,
        run_id: UUID,
        *,
        min_level: LogLevel | str | int | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> tuple[list[dict[str, Any]], int | None]:
        limit = page_size(limit)
        level = min_level_number(min_level) or 0
        with self.reading() as cursor:
            cursor.execute(SELECT, (run_log_id(run_id).bytes, after, level, limit + 1))
            records = cursor.fetchall()
        entries = [
            {
                "seq": seq,
                "at": datetime.fromisoformat(at),
                "level": level_name(number),
                "message": message,
            }
            for seq, at, number, message in records[:limit]
        ]
        return entries, entries[-1]["seq"] if len(records) > limit else None
