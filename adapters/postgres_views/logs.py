"""The logs view in PostgreSQL: entries streamed in with binary COPY.

The per-entry Python work is one `write_row` call (psycopg's C code) and parsing the
entry's time: binary COPY spares the server parsing every value as text, which measured
15-25% faster overall than text COPY with the ISO times passed straight through.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking

from adapters.postgres_views.common import PostgresView
from domain.log_level import LogLevel
from domain.run_log import run_log_id
from projections.base import page_size
from projections.logs import LogsChanges, LogsView, level_name, min_level_number

DDL = (
    """CREATE TABLE IF NOT EXISTS {s}.view_log_entries (
        log_id uuid NOT NULL,
        seq integer NOT NULL,
        at timestamptz NOT NULL,
        level smallint NOT NULL,
        message text NOT NULL,
        PRIMARY KEY (log_id, seq)
    )""",
    # One row: the running total of entries, updated with each batch.
    "CREATE TABLE IF NOT EXISTS {s}.view_log_totals"
    " (id integer PRIMARY KEY, entries bigint NOT NULL)",
    "INSERT INTO {s}.view_log_totals (id, entries) VALUES (1, 0) ON CONFLICT DO NOTHING",
)

COPY_TYPES = ["uuid", "int4", "timestamptz", "int2", "text"]
QUERIES = {
    "copy": "COPY {s}.view_log_entries (log_id, seq, at, level, message)"
    " FROM STDIN (FORMAT BINARY)",
    "add": "UPDATE {s}.view_log_totals SET entries = entries + %s WHERE id = 1",
    "count": "SELECT entries FROM {s}.view_log_totals WHERE id = 1",
    "select": "SELECT seq, at, level, message FROM {s}.view_log_entries"
    " WHERE log_id = %s AND seq > %s AND level >= %s ORDER BY seq LIMIT %s",
}


class PostgresLogsView(PostgresView, LogsView):
    """The logs view in table view_log_entries, keyed by (log id, seq)."""

    TABLES = ("view_log_entries", "view_log_totals")
    DDL = DDL
    QUERIES = QUERIES

    def apply(self, changes: LogsChanges, tracking: Tracking) -> None:
        with self.writing(tracking) as cursor:
            if changes.batches:
                with cursor.copy(self.q["copy"]) as copy:
                    copy.set_types(COPY_TYPES)
                    write, parse = copy.write_row, datetime.fromisoformat
                    for log_id, entries in changes.batches:
                        for seq, at, level, message in entries:
                            # PostgreSQL text cannot hold NUL; a process may well print one.
                            if "\x00" in message:
                                message = message.replace("\x00", "\ufffd")
                            write((log_id, seq, parse(at), level, message))
                added = sum(len(entries) for _log_id, entries in changes.batches)
                cursor.execute(self.q["add"], (added,))

    def count_entries(self) -> int:
        rows = self.fetch(self.q["count"])
        return int(rows[0]["entries"]) if rows else 0

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
        rows = self.fetch(self.q["select"], (run_log_id(run_id), after, level, limit + 1))
        entries = [
            {
                "seq": row["seq"],
                "at": row["at"],
                "level": level_name(row["level"]),
                "message": row["message"],
            }
            for row in rows[:limit]
        ]
        return entries, entries[-1]["seq"] if len(rows) > limit else None
