"""Retention in a PostgreSQL store: deletes a run's log from the events table and the logs
view in small batches, each its own short transaction.

eventsourcing's recorder takes an EXCLUSIVE lock on the events table for every insert (it
keeps notification ids in commit order), and a DELETE's row-exclusive lock conflicts with
it: one big DELETE would stop every writer (workers recording logs, the API) for as long as
it ran. A batch of a few events (each up to ~1,000 entries) holds that lock for
milliseconds. PostgreSQL's identity column never hands a deleted id out again, so
followers meet only gaps, which they skip. Autovacuum gives the space back for reuse.

`retention_pending` holds the sweep's marks (`mark_purge`): a run whose log is about to go,
with its count. The batches are idempotent; the last transaction closes the mark (`done_at`)
and counts the marked entries then, so a deletion resumed after a crash, or a second sweep
racing on the same run, counts them once. Closed marks go a day later (`reclaim`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Composed, Identifier

from adapters.postgres_setup import setup_lock
from application.ports import RetentionCandidate
from domain.run_log import run_log_id

EVENT_BATCH = 20  # events per transaction: up to ~20,000 log entries
ENTRY_BATCH = 5_000  # view rows per transaction

QUERIES = {
    "totals_ddl": "CREATE TABLE IF NOT EXISTS {s}.retention_totals"
    " (id integer PRIMARY KEY, entries_purged bigint NOT NULL)",
    "pending_ddl": "CREATE TABLE IF NOT EXISTS {s}.retention_pending"
    " (run_id uuid PRIMARY KEY, entries bigint NOT NULL, done_at timestamptz)",
    # A mark already there (open, or closed by a racing sweep) stays as it is.
    "mark": "INSERT INTO {s}.retention_pending (run_id, entries) VALUES (%s, %s)"
    " ON CONFLICT (run_id) DO NOTHING",
    "pending": "SELECT run_id FROM {s}.retention_pending WHERE done_at IS NULL",
    "close": "UPDATE {s}.retention_pending SET done_at = now()"
    " WHERE run_id = %s AND done_at IS NULL RETURNING entries",
    "prune": "DELETE FROM {s}.retention_pending WHERE done_at < now() - interval '1 day'",
    "job_ids": "SELECT DISTINCT job_id FROM {s}.view_runs WHERE finished_at IS NOT NULL",
    # Two queries, each served by an index of its own (adapters.postgres_views.runs): runs
    # whose log is still there, and runs past the run retention (few: reduced runs leave).
    "log_candidates": "SELECT id, finished_at, false FROM {s}.view_runs"
    " WHERE job_id = %s AND log_purged_at IS NULL AND finished_at IS NOT NULL"
    " AND finished_at < %s ORDER BY finished_at LIMIT %s",
    "run_candidates": "SELECT id, finished_at, log_purged_at IS NOT NULL FROM {s}.view_runs"
    " WHERE job_id = %s AND finished_at IS NOT NULL AND finished_at < %s"
    " ORDER BY finished_at LIMIT %s",
    "newest": "SELECT id FROM {s}.view_runs WHERE job_id = %s AND finished_at IS NOT NULL"
    " ORDER BY requested_at DESC, id DESC LIMIT %s",
    "log_page": "SELECT seq, at, level, message FROM {s}.view_log_entries"
    " WHERE log_id = %s AND seq > %s ORDER BY seq LIMIT %s",
    "count_log": "SELECT count(*) FROM {s}.view_log_entries WHERE log_id = %s",
    "last_event": "SELECT max(notification_id) FROM {s}.{events} WHERE originator_id = %s",
    "seen": "SELECT max(notification_id) FROM {s}.logs_tracking WHERE application_name = 'logs'",
    "delete_entries": "WITH gone AS (DELETE FROM {s}.view_log_entries WHERE (log_id, seq) IN"
    " (SELECT log_id, seq FROM {s}.view_log_entries WHERE log_id = %s LIMIT %s)"
    " RETURNING 1), n AS (SELECT count(*) AS n FROM gone)"
    " UPDATE {s}.view_log_totals SET entries = entries - (SELECT n FROM n) WHERE id = 1"
    " RETURNING (SELECT n FROM n)",
    "delete_events": "DELETE FROM {s}.{events} WHERE originator_id = %s AND originator_version"
    " IN (SELECT originator_version FROM {s}.{events} WHERE originator_id = %s"
    " ORDER BY originator_version LIMIT %s)",
    "add_purged": "INSERT INTO {s}.retention_totals (id, entries_purged) VALUES (1, %s)"
    " ON CONFLICT (id) DO UPDATE SET entries_purged = {s}.retention_totals.entries_purged"
    " + excluded.entries_purged",
    "purged": "SELECT entries_purged FROM {s}.retention_totals WHERE id = 1",
    # Every table and index of the schema, TOAST included.
    "bytes": "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
    " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
}


class PostgresRetentionStore:
    """`application.ports.RetentionStore` on the events table and views of a schema."""

    def __init__(self, datastore: PostgresDatastore, events_table: str) -> None:
        self.datastore = datastore
        names = {"s": Identifier(datastore.schema), "events": Identifier(events_table)}
        self.q: dict[str, Composed] = {k: SQL(v).format(**names) for k, v in QUERIES.items()}
        # Processes of a cluster start together: the schema's set-up lock makes their
        # CREATE ... IF NOT EXISTS take turns (adapters.postgres_setup).
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as cursor,
        ):
            cursor.execute(setup_lock(datastore.schema))
            cursor.execute(self.q["totals_ddl"])
            cursor.execute(self.q["pending_ddl"])

    def close(self) -> None:
        """The datastore is the application's: it closes it."""

    def _rows(self, query: Composed, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(query, params)
            return [tuple(row.values()) for row in cursor.fetchall()]

    def _write(self, query: Composed, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as cursor,
        ):
            cursor.execute(query, params)
            return [tuple(row.values()) for row in cursor.fetchall()] if cursor.description else []

    def job_ids(self) -> list[UUID]:
        return [job_id for (job_id,) in self._rows(self.q["job_ids"])]

    def candidates(
        self, job_id: UUID, *, log_before: datetime, run_before: datetime, limit: int
    ) -> list[RetentionCandidate]:
        rows = self._rows(self.q["run_candidates"], (job_id, run_before, limit))
        rows += self._rows(self.q["log_candidates"], (job_id, log_before, limit))
        found = {
            run_id: RetentionCandidate(run_id, at, bool(purged))
            for run_id, at, purged in reversed(rows)  # the run query's answer wins
        }
        return sorted(found.values(), key=lambda c: c.finished_at)[:limit]

    def newest_finished(self, job_id: UUID, count: int) -> set[UUID]:
        return {run_id for (run_id,) in self._rows(self.q["newest"], (job_id, count))}

    def count_log(self, run_id: UUID) -> int:
        return int(self._rows(self.q["count_log"], (run_log_id(run_id),))[0][0])

    def log_page(self, run_id: UUID, after: int, limit: int) -> list[tuple[int, str, int, str]]:
        rows = self._rows(self.q["log_page"], (run_log_id(run_id), after, limit))
        return [
            (int(seq), at.astimezone(UTC).isoformat().replace("+00:00", "Z"), int(lvl), msg)
            for seq, at, lvl, msg in rows
        ]

    def log_settled(self, run_id: UUID) -> bool:
        (last,) = self._rows(self.q["last_event"], (run_log_id(run_id),))[0]
        if last is None:
            return True
        (seen,) = self._rows(self.q["seen"])[0]
        return seen is not None and seen >= last

    def mark_purge(self, run_id: UUID, entries: int) -> None:
        self._write(self.q["mark"], (run_id, entries))

    def pending_purges(self) -> list[UUID]:
        return [run_id for (run_id,) in self._rows(self.q["pending"])]

    def purge_log(self, run_id: UUID) -> int | None:
        log_id = run_log_id(run_id)
        if not self.log_settled(run_id):
            return None  # the logs view has yet to process the stream
        removed = 0
        while True:  # the view's rows first: a crash half-way leaves no rows of gone events
            rows = self._write(self.q["delete_entries"], (log_id, ENTRY_BATCH))
            batch = int(rows[0][0]) if rows else 0
            removed += batch
            if batch < ENTRY_BATCH:
                break
        while True:
            with (
                self.datastore.get_connection() as conn,
                conn.transaction(),
                conn.cursor() as cursor,
            ):
                cursor.execute(self.q["delete_events"], (log_id, log_id, EVENT_BATCH))
                if cursor.rowcount < EVENT_BATCH:
                    break
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as cursor,
        ):
            cursor.execute(self.q["close"], (run_id,))
            closed = cursor.fetchall()
            if closed:
                cursor.execute(self.q["add_purged"], (int(next(iter(closed[0].values()))),))
        return removed

    def reclaim(self) -> None:
        """Autovacuum makes the deleted rows' space reusable; only closed marks go."""
        self._write(self.q["prune"])

    def store_bytes(self) -> int:
        return int(self._rows(self.q["bytes"], (self.datastore.schema,))[0][0])

    def purged_entries(self) -> int:
        rows = self._rows(self.q["purged"])
        return int(rows[0][0]) if rows else 0
