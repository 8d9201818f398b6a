"""The runs view in SQLite."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteCursor

from adapters.keyset import keyset_query
from adapters.sqlite_views.common import (
    SQLiteView,
    dt,
    dumps,
    placeholders,
    to_uuid,
    ts,
    uid,
)
from adapters.sqlite_views.dashboard import RUNS_DDL, SQLiteRunStats
from domain.run_status import RunStatus
from projections.base import check_offset, page_size
from projections.run_stats import MAX_FIGURE_RUNS, HistoryFigures, figures_of, figures_since
from projections.runs import (
    FINISHED_RUN_COLUMNS,
    MAX_FINISHED_RUNS,
    PATCH_COLUMNS,
    RUN_COLUMNS,
    STATUSES,
    RunsChanges,
    RunsView,
    check_status,
    parse_runs_cursor,
    runs_cursor,
)

DDL = (
    """CREATE TABLE IF NOT EXISTS view_runs (
        id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL,
        job_name TEXT NOT NULL,
        job_version INTEGER NOT NULL,
        job_type TEXT NOT NULL,
        trigger TEXT NOT NULL,
        status TEXT NOT NULL,
        scheduled_for TEXT,
        requested_at TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        exit_code INTEGER,
        error TEXT,
        attempt INTEGER NOT NULL,
        retry_of TEXT,
        worker TEXT,
        log_level TEXT NOT NULL,
        timeout_seconds INTEGER,
        cancel_requested_by TEXT,
        version INTEGER NOT NULL,
        discarded_entries INTEGER NOT NULL DEFAULT 0,
        parameters TEXT,
        overrides TEXT NOT NULL DEFAULT '[]',
        rerun_of TEXT,
        log_purged_at TEXT,
        log_purged_entries INTEGER
    )""",
    # Newest first, with or without a job or status filter: each listing reads one index
    # range in order and stops after a page, however many runs there are.
    "CREATE INDEX IF NOT EXISTS view_runs_time_idx ON view_runs (requested_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS view_runs_job_idx"
    " ON view_runs (job_id, requested_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS view_runs_status_idx"
    " ON view_runs (status, requested_at DESC, id DESC)",
)
# Run after ADD_COLUMNS (an index needs its column): a run's next attempt, found by retry_of.
LATER_DDL = (
    "CREATE INDEX IF NOT EXISTS view_runs_retry_of_idx ON view_runs (retry_of)"
    " WHERE retry_of IS NOT NULL",
    # The retention sweep's: finished runs by age, and those whose log is still there.
    "CREATE INDEX IF NOT EXISTS view_runs_finished_idx ON view_runs (job_id, finished_at)"
    " WHERE finished_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS view_runs_log_kept_idx ON view_runs (job_id, finished_at)"
    " WHERE finished_at IS NOT NULL AND log_purged_at IS NULL",
)

SELECT = f"SELECT {', '.join(RUN_COLUMNS)} FROM view_runs"
INSERT = (
    f"INSERT INTO view_runs ({', '.join(RUN_COLUMNS)}) VALUES ({placeholders(len(RUN_COLUMNS))})"
)
# Tables created before the column existed get it on their next start. SQLite has no
# ADD COLUMN IF NOT EXISTS, so the create step looks at the table's columns first.
ADD_COLUMNS = {
    "discarded_entries": "INTEGER NOT NULL DEFAULT 0",
    "parameters": "TEXT",
    "overrides": "TEXT NOT NULL DEFAULT '[]'",
    "rerun_of": "TEXT",
    "log_purged_at": "TEXT",
    "log_purged_entries": "INTEGER",
}
# Later events never set a column back to NULL, so NULL in a patch means "unchanged".
PATCH = (
    f"UPDATE view_runs SET {', '.join(f'{c} = COALESCE(?, {c})' for c in PATCH_COLUMNS)}"
    " WHERE id = ?"
)
WHERE = {
    "job_id": "job_id = ?",
    "status": "status = ?",
    "since": "requested_at >= ?",
    "until": "requested_at < ?",
    "cursor": "(requested_at, id) < (?, ?)",
}
ORDER = " ORDER BY requested_at DESC, id DESC LIMIT ?"
NEXT_ATTEMPT = f"{SELECT} WHERE retry_of = ? ORDER BY requested_at, id LIMIT 1"
COUNT = "SELECT status, count(*) FROM view_runs GROUP BY status"
COUNT_ALL = "SELECT count(*) FROM view_runs"
RUNNING = (
    "SELECT id, job_id, worker, started_at FROM view_runs"
    f" WHERE status = '{RunStatus.RUNNING}' ORDER BY started_at, id"
)
# A job's latest finishes, newest first, read backwards along view_runs_finished_idx.
# Times are fixed-width text, so '' is before every time: no `since`, no lower bound.
FINISHED = (
    f"SELECT {', '.join(FINISHED_RUN_COLUMNS)} FROM view_runs"
    " WHERE job_id = ? AND finished_at IS NOT NULL AND finished_at >= ?"
    " ORDER BY finished_at DESC LIMIT ?"
)
# The runs the history figures are computed from (runs that started), latest first.
FIGURE_RUNS = (
    "SELECT status, started_at, finished_at FROM view_runs"
    " WHERE job_id = ? AND finished_at IS NOT NULL AND finished_at >= ? AND finished_at <= ?"
    " AND started_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?"
)

_UUIDS = ("id", "job_id", "retry_of", "rerun_of")
_TIMES = ("scheduled_for", "requested_at", "started_at", "finished_at", "log_purged_at")
_JSON = ("parameters", "overrides")
_TIME_PATCHES = tuple(i for i, c in enumerate(PATCH_COLUMNS) if c in _TIMES)


def _encode(row: dict[str, Any]) -> list[Any]:
    values = [row[column] for column in RUN_COLUMNS]
    for i, column in enumerate(RUN_COLUMNS):
        if column in _UUIDS:
            values[i] = uid(values[i])
        elif column in _TIMES:
            values[i] = ts(values[i])
        elif column in _JSON and values[i] is not None:
            values[i] = dumps(values[i])
    return values


def _encode_patch(patch: tuple[Any, ...]) -> list[Any]:
    values = list(patch)
    for i in _TIME_PATCHES:
        values[i] = ts(values[i])
    values[-1] = str(values[-1])  # the run id
    return values


def _decode(record: Any) -> dict[str, Any]:
    run = dict(zip(RUN_COLUMNS, record, strict=True))
    for column in _UUIDS:
        run[column] = to_uuid(run[column])
    for column in _TIMES:
        run[column] = dt(run[column])
    for column in _JSON:
        if run[column] is not None:
            run[column] = orjson.loads(run[column])
    return run


def _filters(
    job_id: UUID | None, status: str | None, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    """A list's filter as SQLite values, for keyset_query."""
    return {
        "job_id": uid(job_id),
        "status": check_status(status),
        "since": ts(since),
        "until": ts(until),
    }


class SQLiteRunsView(SQLiteRunStats, SQLiteView, RunsView):
    """The runs view in table view_runs."""

    TABLES = ("view_runs",)
    DDL = (*DDL, *RUNS_DDL)
    SELECT_RUNS = SELECT
    decode_run = staticmethod(_decode)

    def _create_table(self, c: SQLiteCursor) -> None:
        super()._create_table(c)
        c.execute("SELECT name FROM pragma_table_info('view_runs')")
        present = {name for (name,) in c.fetchall()}
        for column, definition in ADD_COLUMNS.items():
            if column not in present:
                c.execute(f"ALTER TABLE view_runs ADD COLUMN {column} {definition}")
        for statement in LATER_DDL:
            c.execute(statement)

    def apply(self, changes: RunsChanges, tracking: Tracking) -> None:
        with self.writing(tracking) as cursor:
            if changes.new:
                cursor.executemany(INSERT, [_encode(row) for row in changes.new.values()])
            if changes.patches:
                cursor.executemany(PATCH, [_encode_patch(p) for p in changes.patch_rows()])
            if changes.deleted:
                cursor.executemany(
                    "DELETE FROM view_runs WHERE id = ?", [(str(i),) for i in changes.deleted]
                )

    def get_run(self, run_id: UUID) -> dict[str, Any] | None:
        with self.reading() as cursor:
            cursor.execute(f"{SELECT} WHERE id = ?", (str(run_id),))
            record = cursor.fetchone()
        return None if record is None else _decode(record)

    def list_runs(
        self,
        *,
        job_id: UUID | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], str | None]:
        limit = page_size(limit)
        offset = check_offset(offset)
        filters = _filters(job_id, status, since, until)
        after = None
        if cursor is not None:
            requested_at, run_id = parse_runs_cursor(cursor)
            after = [ts(requested_at), str(run_id)]
        query, params = keyset_query(SELECT, WHERE, filters, after, ORDER + " OFFSET ?")
        with self.reading() as db:
            db.execute(query, [*params, limit + 1, offset])  # one more: a next page?
            records = db.fetchall()
        runs = [_decode(record) for record in records[:limit]]
        return runs, runs_cursor(runs[-1]) if len(records) > limit else None

    def count_runs(
        self,
        *,
        job_id: UUID | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        filters = _filters(job_id, status, since, until)
        query, params = keyset_query(COUNT_ALL, WHERE, filters, None, "")
        with self.reading() as db:
            db.execute(query, params)
            (total,) = db.fetchone()
        return int(total)

    def next_attempt(self, run_id: UUID) -> dict[str, Any] | None:
        with self.reading() as cursor:
            cursor.execute(NEXT_ATTEMPT, (str(run_id),))
            record = cursor.fetchone()
        return None if record is None else _decode(record)

    def count_by_status(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        with self.reading() as cursor:
            cursor.execute(COUNT)
            counts.update({status: count for status, count in cursor.fetchall()})
        return counts

    def running_runs(self) -> list[dict[str, Any]]:
        with self.reading() as cursor:
            cursor.execute(RUNNING)
            records = cursor.fetchall()
        return [
            {"id": UUID(i), "job_id": UUID(j), "worker": worker, "started_at": dt(started)}
            for i, j, worker, started in records
        ]

    def finished_runs(
        self, job_id: UUID, *, since: datetime | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        limit = page_size(limit, MAX_FINISHED_RUNS)
        with self.reading() as cursor:
            cursor.execute(FINISHED, (str(job_id), ts(since) or "", limit))
            records = cursor.fetchall()
        return [
            {"id": UUID(i), "status": status, "started_at": dt(started), "finished_at": dt(ended)}
            for i, status, started, ended in records
        ]

    def history_figures(
        self, job_id: UUID, *, now: datetime, windows: Sequence[int], trend_days: int
    ) -> HistoryFigures:
        # SQLite has no percentile function: the window's durations are summed up in Python,
        # from as few columns as will do.
        since = figures_since(now, windows, trend_days)
        with self.reading() as cursor:
            cursor.execute(FIGURE_RUNS, (str(job_id), ts(since), ts(now), MAX_FIGURE_RUNS))
            records = cursor.fetchall()
        runs = [
            {"status": status, "started_at": dt(started), "finished_at": dt(ended)}
            for status, started, ended in records
        ]
        return figures_of(runs, now, windows, trend_days, MAX_FIGURE_RUNS)
