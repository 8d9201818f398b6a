"""The audit view in SQLite."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteCursor

from adapters.keyset import keyset_query
from adapters.sqlite_views.common import (
    SQLiteView,
    chunks,
    dt,
    dumps,
    placeholders,
    to_uuid,
    ts,
    uid,
)
from projections.audit import (
    AUDIT_COLUMNS,
    AuditChanges,
    AuditView,
    audit_cursor,
    parse_audit_cursor,
)
from projections.base import check_offset, page_size

TABLE = """CREATE TABLE IF NOT EXISTS {table} (
        stream_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        job_id TEXT,
        job_name TEXT,
        action TEXT NOT NULL,
        event TEXT NOT NULL,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        changes TEXT NOT NULL,
        details TEXT NOT NULL DEFAULT '{{}}',
        PRIMARY KEY (stream_id, version)
    )"""
DDL = (
    TABLE.format(table="view_audit"),
    # Newest first: overall, and per job, actor or action. Each filter reads one index
    # range in order and stops after a page.
    "CREATE INDEX IF NOT EXISTS view_audit_at_idx"
    " ON view_audit (at DESC, stream_id DESC, version DESC)",
    "CREATE INDEX IF NOT EXISTS view_audit_job_at_idx"
    " ON view_audit (job_id, at DESC, stream_id DESC, version DESC)",
    "CREATE INDEX IF NOT EXISTS view_audit_actor_at_idx"
    " ON view_audit (actor, at DESC, stream_id DESC, version DESC)",
    "CREATE INDEX IF NOT EXISTS view_audit_action_at_idx"
    " ON view_audit (action, at DESC, stream_id DESC, version DESC)",
)
# A table made before runs and access were audited held job changes only, keyed by (job
# id, version). SQLite cannot change a primary key in place: the rows move to a new table,
# each job row's stream being its job and its action told by its event. (The old indexes
# go with the old table.)
UPGRADE = (
    "ALTER TABLE view_audit RENAME TO view_audit_upgrading",
    TABLE.format(table="view_audit"),
    "INSERT INTO view_audit"
    " (stream_id, version, job_id, job_name, action, event, at, actor, changes, details)"
    " SELECT job_id, version, job_id, job_name, CASE event"
    " WHEN 'Registered' THEN 'job.created' WHEN 'Deleted' THEN 'job.deleted'"
    " ELSE 'job.changed' END, event, at, actor, changes, '{}' FROM view_audit_upgrading",
    "DROP TABLE view_audit_upgrading",
)

SELECT = f"SELECT {', '.join(AUDIT_COLUMNS)} FROM view_audit"
INSERT = (
    f"INSERT INTO view_audit ({', '.join(AUDIT_COLUMNS)})"
    f" VALUES ({placeholders(len(AUDIT_COLUMNS))})"
)
# The name each job had at its latest change (a job's changes are its own stream).
LATEST_NAMES = (
    "SELECT stream_id, job_name, details FROM view_audit AS a WHERE stream_id IN ({})"
    " AND version = (SELECT max(version) FROM view_audit AS b WHERE b.stream_id = a.stream_id)"
)
HISTORY = f"{SELECT} WHERE stream_id = ? ORDER BY version"
WHERE = {
    "job_id": "job_id = ?",
    "actor": "actor = ?",
    # One parameter however many actions: a JSON array.
    "actions": "action IN (SELECT value FROM json_each(?))",
    "since": "at >= ?",
    "until": "at < ?",
    "cursor": "(at, stream_id, version) < (?, ?, ?)",
}
ORDER = " ORDER BY at DESC, stream_id DESC, version DESC LIMIT ?"
COUNT_ALL = "SELECT count(*) FROM view_audit"


def _encode(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        str(row["stream_id"]),
        row["version"],
        uid(row["job_id"]),
        row["job_name"],
        row["action"],
        row["event"],
        ts(row["at"]),
        row["actor"],
        dumps(row["changes"]),
        dumps(row["details"]),
    )


def _decode(record: Any) -> dict[str, Any]:
    entry = dict(zip(AUDIT_COLUMNS, record, strict=True))
    entry["stream_id"] = UUID(entry["stream_id"])
    entry["job_id"] = to_uuid(entry["job_id"])
    entry["at"] = dt(entry["at"])
    entry["changes"] = orjson.loads(entry["changes"])
    entry["details"] = orjson.loads(entry["details"])
    return entry


class SQLiteAuditView(SQLiteView, AuditView):
    """The audit view in table view_audit, keyed by (stream id, version)."""

    TABLES = ("view_audit",)
    DDL = DDL

    def _create_table(self, c: SQLiteCursor) -> None:
        c.execute("SELECT name FROM pragma_table_info('view_audit')")
        columns = {name for (name,) in c.fetchall()}
        if columns and "stream_id" not in columns:
            for statement in UPGRADE:
                c.execute(statement)
        super()._create_table(c)

    def apply(self, changes: AuditChanges, tracking: Tracking) -> None:
        with self.writing(tracking) as cursor:
            unnamed = changes.unnamed_job_ids()
            if unnamed:
                changes.resolve_names(*self._latest_names(cursor, unnamed))
            if changes.rows:
                cursor.executemany(INSERT, [_encode(row) for row in changes.rows])

    @staticmethod
    def _latest_names(
        cursor: SQLiteCursor, job_ids: list[UUID]
    ) -> tuple[dict[UUID, str], dict[UUID, dict[str, Any]]]:
        """The name and details of each stream's last row (a channel's name and type)."""
        names: dict[UUID, str] = {}
        details: dict[UUID, dict[str, Any]] = {}
        for part in chunks(job_ids):
            cursor.execute(LATEST_NAMES.format(placeholders(len(part))), [str(i) for i in part])
            for stream_id, name, found in cursor.fetchall():
                names[UUID(stream_id)] = name
                details[UUID(stream_id)] = orjson.loads(found)
        return names, details

    def history(self, job_id: UUID) -> list[dict[str, Any]]:
        with self.reading() as cursor:
            cursor.execute(HISTORY, (str(job_id),))
            return [_decode(record) for record in cursor.fetchall()]

    def entries(
        self,
        *,
        job_id: UUID | None = None,
        actor: str | None = None,
        actions: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], str | None]:
        limit = page_size(limit)
        offset = check_offset(offset)
        filters = _filters(job_id, actor, actions, since, until)
        after = None
        if cursor is not None:
            at, after_stream, version = parse_audit_cursor(cursor)
            after = [ts(at), str(after_stream), version]
        query, params = keyset_query(SELECT, WHERE, filters, after, ORDER + " OFFSET ?")
        with self.reading() as db:
            db.execute(query, [*params, limit + 1, offset])  # one more: a next page?
            records = db.fetchall()
        entries = [_decode(record) for record in records[:limit]]
        return entries, audit_cursor(entries[-1]) if len(records) > limit else None

    def count_entries(
        self,
        *,
        job_id: UUID | None = None,
        actor: str | None = None,
        actions: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        filters = _filters(job_id, actor, actions, since, until)
        query, params = keyset_query(COUNT_ALL, WHERE, filters, None, "")
        with self.reading() as db:
            db.execute(query, params)
            (total,) = db.fetchone()
        return int(total)


def _filters(
    job_id: UUID | None,
    actor: str | None,
    actions: list[str] | None,
    since: datetime | None,
    until: datetime | None,
) -> dict[str, Any]:
    """A list's filter as SQLite values, for keyset_query."""
    return {
        "job_id": uid(job_id),
        "actor": actor,
        "actions": dumps(actions) if actions else None,
        "since": ts(since),
        "until": ts(until),
    }
