"""The audit view in SQLite."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteCursor

from adapters.keyset import keyset_query
from adapters.sqlite_views.common import SQLiteView, chunks, dt, dumps, placeholders, ts, uid
from projections.audit import (
    AUDIT_COLUMNS,
    AuditChanges,
    AuditView,
    audit_cursor,
    parse_audit_cursor,
)
from projections.base import page_size

DDL = (
    """CREATE TABLE IF NOT EXISTS view_audit (
        job_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        job_name TEXT,
        event TEXT NOT NULL,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        changes TEXT NOT NULL,
        PRIMARY KEY (job_id, version)
    )""",
    # Newest first, overall, per job and per actor.
    "CREATE INDEX IF NOT EXISTS view_audit_time_idx"
    " ON view_audit (at DESC, job_id DESC, version DESC)",
    "CREATE INDEX IF NOT EXISTS view_audit_job_time_idx"
    " ON view_audit (job_id, at DESC, version DESC)",
    "CREATE INDEX IF NOT EXISTS view_audit_actor_idx"
    " ON view_audit (actor, at DESC, job_id DESC, version DESC)",
)

SELECT = f"SELECT {', '.join(AUDIT_COLUMNS)} FROM view_audit"
INSERT = f"INSERT INTO view_audit ({', '.join(AUDIT_COLUMNS)}) VALUES ({placeholders(7)})"
# The name each job had at its latest audited event.
LATEST_NAMES = (
    "SELECT job_id, job_name FROM view_audit AS a WHERE job_id IN ({})"
    " AND version = (SELECT max(version) FROM view_audit AS b WHERE b.job_id = a.job_id)"
)
HISTORY = f"{SELECT} WHERE job_id = ? ORDER BY version"
WHERE = {
    "job_id": "job_id = ?",
    "actor": "actor = ?",
    "since": "at >= ?",
    "until": "at < ?",
    "cursor": "(at, job_id, version) < (?, ?, ?)",
}
ORDER = " ORDER BY at DESC, job_id DESC, version DESC LIMIT ?"


def _decode(record: Any) -> dict[str, Any]:
    entry = dict(zip(AUDIT_COLUMNS, record, strict=True))
    entry["job_id"] = UUID(entry["job_id"])
    entry["at"] = dt(entry["at"])
    entry["changes"] = orjson.loads(entry["changes"])
    return entry


class SQLiteAuditView(SQLiteView, AuditView):
    """The audit view in table view_audit, keyed by (job id, version)."""

    TABLES = ("view_audit",)
    DDL = DDL

    def apply(self, changes: AuditChanges, tracking: Tracking) -> None:
        with self.writing(tracking) as cursor:
            unnamed = changes.unnamed_job_ids()
            if unnamed:
                changes.resolve_names(self._latest_names(cursor, unnamed))
            if changes.rows:
                cursor.executemany(
                    INSERT,
                    [
                        (
                            str(row["job_id"]),
                            row["version"],
                            row["job_name"],
                            row["event"],
                            ts(row["at"]),
                            row["actor"],
                            dumps(row["changes"]),
                        )
                        for row in changes.rows
                    ],
                )

    @staticmethod
    def _latest_names(cursor: SQLiteCursor, job_ids: list[UUID]) -> dict[UUID, str]:
        names: dict[UUID, str] = {}
        for part in chunks(job_ids):
            cursor.execute(LATEST_NAMES.format(placeholders(len(part))), [str(i) for i in part])
            names.update({UUID(job_id): name for job_id, name in cursor.fetchall()})
        return names

    def history(self, job_id: UUID) -> list[dict[str, Any]]:
        with self.reading() as cursor:
            cursor.execute(HISTORY, (str(job_id),))
            return [_decode(record) for record in cursor.fetchall()]

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
        limit = page_size(limit)
        filters: dict[str, Any] = {
            "job_id": uid(job_id),
            "actor": actor,
            "since": ts(since),
            "until": ts(until),
        }
        after = None
        if cursor is not None:
            at, after_job, version = parse_audit_cursor(cursor)
            after = [ts(at), str(after_job), version]
        query, params = keyset_query(SELECT, WHERE, filters, after, ORDER)
        with self.reading() as db:
            db.execute(query, [*params, limit + 1])  # one more: is there a next page?
            records = db.fetchall()
        entries = [_decode(record) for record in records[:limit]]
        return entries, audit_cursor(entries[-1]) if len(records) > limit else None
