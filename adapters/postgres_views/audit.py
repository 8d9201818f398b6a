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
from projections.base import check_offset, page_size

DDL = (
    """CREATE TABLE IF NOT EXISTS {s}.view_audit (
        stream_id uuid NOT NULL,
        version integer NOT NULL,
        job_id uuid,
        job_name text,
        action text NOT NULL,
        event text NOT NULL,
        at timestamptz NOT NULL,
        actor text NOT NULL,
        changes jsonb NOT NULL,
        details jsonb NOT NULL DEFAULT jsonb_build_object(),
        PRIMARY KEY (stream_id, version)
    )""",
    # A table made before runs and access were audited held job changes only, keyed by
    # (job id, version): upgraded in place, once, each job row's stream being its job and
    # its action told by its event. Its indexes ordered by job id; they give way to the
    # ones below.
    """DO $$ BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_attribute WHERE attrelid = '{s}.view_audit'::regclass
        AND attname = 'stream_id' AND NOT attisdropped
    ) THEN
        ALTER TABLE {s}.view_audit ADD COLUMN stream_id uuid, ADD COLUMN action text,
            ADD COLUMN details jsonb NOT NULL DEFAULT jsonb_build_object();
        UPDATE {s}.view_audit SET stream_id = job_id, action = CASE event
            WHEN 'Registered' THEN 'job.created' WHEN 'Deleted' THEN 'job.deleted'
            ELSE 'job.changed' END;
        ALTER TABLE {s}.view_audit DROP CONSTRAINT view_audit_pkey;
        ALTER TABLE {s}.view_audit ALTER COLUMN job_id DROP NOT NULL,
            ALTER COLUMN action SET NOT NULL, ADD PRIMARY KEY (stream_id, version);
        DROP INDEX IF EXISTS {s}.view_audit_time_idx, {s}.view_audit_job_time_idx,
            {s}.view_audit_actor_idx;
    END IF;
    END $$""",
    # Newest first: overall, and per job, actor or action. Each filter reads one index
    # range in order and stops after a page.
    "CREATE INDEX IF NOT EXISTS view_audit_at_idx"
    " ON {s}.view_audit (at DESC, stream_id DESC, version DESC)",
    "CREATE INDEX IF NOT EXISTS view_audit_job_at_idx"
    " ON {s}.view_audit (job_id, at DESC, stream_id DESC, version DESC)",
    "CREATE INDEX IF NOT EXISTS view_audit_actor_at_idx"
    " ON {s}.view_audit (actor, at DESC, stream_id DESC, version DESC)",
    "CREATE INDEX IF NOT EXISTS view_audit_action_at_idx"
    " ON {s}.view_audit (action, at DESC, stream_id DESC, version DESC)",
)

SELECT = f"SELECT {', '.join(AUDIT_COLUMNS)} FROM {{s}}.view_audit"
QUERIES = {
    "copy": f"COPY {{s}}.view_audit ({', '.join(AUDIT_COLUMNS)}) FROM STDIN",
    # The name each job had at its latest change (a job's changes are its own stream), and
    # the details of a channel's latest row (its name and type).
    "latest_names": "SELECT DISTINCT ON (stream_id) stream_id, job_name, details"
    " FROM {s}.view_audit WHERE stream_id = ANY(%s) ORDER BY stream_id, version DESC",
    "history": f"{SELECT} WHERE stream_id = %s ORDER BY version",
}
WHERE = {
    "job_id": "job_id = %s",
    "actor": "actor = %s",
    "actions": "action = ANY(%s)",
    "since": "at >= %s",
    "until": "at < %s",
    "cursor": "(at, stream_id, version) < (%s, %s, %s)",
}
ORDER = " ORDER BY at DESC, stream_id DESC, version DESC LIMIT %s"
COUNT_ALL = "SELECT count(*) AS n FROM {s}.view_audit"
_ROW = itemgetter(*AUDIT_COLUMNS[:-2])


class PostgresAuditView(PostgresView, AuditView):
    """The audit view in table view_audit, keyed by (stream id, version)."""

    TABLES = ("view_audit",)
    DDL = DDL
    QUERIES = QUERIES

    def apply(self, changes: AuditChanges, tracking: Tracking) -> None:
        with self.writing(tracking) as cursor:
            unnamed = changes.unnamed_job_ids()
            if unnamed:
                cursor.execute(self.q["latest_names"], (unnamed,))
                latest = cursor.fetchall()
                changes.resolve_names(
                    {r["stream_id"]: r["job_name"] for r in latest},
                    {r["stream_id"]: r["details"] or {} for r in latest},
                )
            if changes.rows:
                with cursor.copy(self.q["copy"]) as copy:
                    for row in changes.rows:
                        copy.write_row(
                            (
                                *_ROW(row),
                                orjson.dumps(row["changes"]).decode(),
                                orjson.dumps(row["details"]).decode(),
                            )
                        )

    def history(self, job_id: UUID) -> list[dict[str, Any]]:
        return list(self.fetch(self.q["history"], (job_id,)))

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
        filters = {
            "job_id": job_id,
            "actor": actor,
            "actions": actions or None,
            "since": since,
            "until": until,
        }
        after = None if cursor is None else list(parse_audit_cursor(cursor))
        query, params = keyset_query(SELECT, WHERE, filters, after, ORDER + " OFFSET %s")
        rows = self.fetch(self.compose(query), [*params, limit + 1, offset])  # +1: next page?
        entries: list[dict[str, Any]] = rows[:limit]
        return entries, audit_cursor(entries[-1]) if len(rows) > limit else None

    def count_entries(
        self,
        *,
        job_id: UUID | None = None,
        actor: str | None = None,
        actions: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        filters = {
            "job_id": job_id,
            "actor": actor,
            "actions": actions or None,
            "since": since,
            "until": until,
        }
        query, params = keyset_query(COUNT_ALL, WHERE, filters, None, "")
        return int(self.fetch(self.compose(query), params)[0]["n"])
