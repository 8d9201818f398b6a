"""The audit view in PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from operator import itemgetter
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Tracking

from adapters.keyset import keyset_query
from adapters.postgres_views.common import PostgresView
from projections.audit import (
    AUDIT_COLUMNS,
    AuditChanges,
    AuditView,
    audit_cursor,
    parse_audit_cursor,
)
from projections.base import page_size

DDL = (
    """CREATE TABLE IF NOT EXISTS {s}.view_audit (
        job_id uuid NOT NULL,
        version integer NOT NULL,
        job_name text,
        event text NOT NULL,
        at timestamptz NOT NULL,
        actor text NOT NULL,
        changes jsonb NOT NULL,
        PRIMARY KEY (job_id, version)
    )""",
    # Newest first, overall, per job and per actor.
    "CREATE INDEX IF NOT EXISTS view_audit_time_idx"
    " ON {s}.view_audit (at DESC, job_id DESC, version DESC)",
    "CREATE INDEX IF NOT EXISTS view_audit_job_time_idx"
    " ON {s}.view_audit (job_id, at DESC, version DESC)",
    "CREATE INDEX IF NOT EXISTS view_audit_actor_idx"
    " ON {s}.view_audit (actor, at DESC, job_id DESC, version DESC)",
)

SELECT = f"SELECT {', '.join(AUDIT_COLUMNS)} FROM {{s}}.view_audit"
QUERIES = {
    "copy": f"COPY {{s}}.view_audit ({', '.join(AUDIT_COLUMNS)}) FROM STDIN",
    # The name each job had at its latest audited event.
    "latest_names": "SELECT DISTINCT ON (job_id) job_id, job_name FROM {s}.view_audit"
    " WHERE job_id = ANY(%s) ORDER BY job_id, version DESC",
    "history": f"{SELECT} WHERE job_id = %s ORDER BY version",
}
WHERE = {
    "job_id": "job_id = %s",
    "actor": "actor = %s",
    "since": "at >= %s",
    "until": "at < %s",
    "cursor": "(at, job_id, version) < (%s, %s, %s)",
}
ORDER = " ORDER BY at DESC, job_id DESC, version DESC LIMIT %s"
_ROW = itemgetter(*AUDIT_COLUMNS[:-1])


class PostgresAuditView(PostgresView, AuditView):
    """The audit view in table view_audit, keyed by (job id, version)."""

    TABLES = ("view_audit",)
    DDL = DDL
    QUERIES = QUERIES

    def apply(self, changes: AuditChanges, tracking: Tracking) -> None:
        with self.writing(tracking) as cursor:
            unnamed = changes.unnamed_job_ids()
            if unnamed:
                cursor.execute(self.q["latest_names"], (unnamed,))
                changes.resolve_names({r["job_id"]: r["job_name"] for r in cursor.fetchall()})
            if changes.rows:
                with cursor.copy(self.q["copy"]) as copy:
                    for row in changes.rows:
                        copy.write_row((*_ROW(row), orjson.dumps(row["changes"]).decode()))

    def history(self, job_id: UUID) -> list[dict[str, Any]]:
        return list(self.fetch(self.q["history"], (job_id,)))

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
        filters = {"job_id": job_id, "actor": actor, "since": since, "until": until}
        after = None if cursor is None else list(parse_audit_cursor(cursor))
        query, params = keyset_query(SELECT, WHERE, filters, after, ORDER)
        rows = self.fetch(self.compose(query), [*params, limit + 1])  # +1: a next page?
        entries: list[dict[str, Any]] = rows[:limit]
        return entries, audit_cursor(entries[-1]) if len(rows) > limit else None
