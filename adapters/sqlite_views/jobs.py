"""The jobs view in SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteCursor

from adapters.sqlite_views.common import (
    SQLiteView,
    chunks,
    dt,
    dumps,
    placeholders,
    to_uuid,
    ts,
)
from adapters.sqlite_views.dashboard import SQLiteJobSchedules
from projections.base import check_offset, page_size
from projections.job_order import (
    ScheduleRow,
    check_sort,
    folder_range,
    next_run_page,
    parse_sort_cursor,
    sort_cursor,
)
from projections.jobs import (
    ALL_JOBS,
    CONFIG_COLUMNS,
    JobQuery,
    JobsChanges,
    JobsView,
    LastRun,
    job_dict,
    prefix_upper_bound,
    search_pattern,
    search_text,
)

DDL = (
    """CREATE TABLE IF NOT EXISTS view_jobs (
        id TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        job_type TEXT NOT NULL,
        program TEXT NOT NULL,
        parameters TEXT NOT NULL,
        schedule_cron TEXT,
        schedule_timezone TEXT,
        log_level TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        policies TEXT NOT NULL,
        secrets TEXT NOT NULL,
        name_shared_with TEXT,
        last_run_id TEXT,
        last_run_status TEXT,
        last_run_at TEXT,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL,
        search TEXT NOT NULL DEFAULT '',
        folder TEXT NOT NULL DEFAULT '',
        tags TEXT NOT NULL DEFAULT '[]',
        parameters_schema TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS view_jobs_name_idx ON view_jobs (name, id)",
    # Later run events name only the run: their status goes to the job whose last run it is.
    "CREATE INDEX IF NOT EXISTS view_jobs_last_run_idx ON view_jobs (last_run_id)",
)
# Made after the columns are added (an older table gets them at start): a folder and its
# subfolders are one range of this index. Tags are matched with json_each, a scan.
INDEXES = (
    "CREATE INDEX IF NOT EXISTS view_jobs_folder_idx ON view_jobs (folder, name, id)",
    "CREATE INDEX IF NOT EXISTS view_jobs_last_run_at_idx ON view_jobs (last_run_at, id)",
)

# Tables created before a column existed get it on their next start.
ADD_COLUMNS = {
    "name_shared_with": "TEXT",
    "folder": "TEXT NOT NULL DEFAULT ''",
    "tags": "TEXT NOT NULL DEFAULT '[]'",
    "parameters_schema": "TEXT",
}
COLUMNS = (*CONFIG_COLUMNS, "last_run_id", "last_run_status", "last_run_at")
SELECT = f"SELECT {', '.join(COLUMNS)} FROM view_jobs"
INSERT = (
    f"INSERT INTO view_jobs ({', '.join(CONFIG_COLUMNS)}, search)"
    f" VALUES ({placeholders(len(CONFIG_COLUMNS) + 1)})"
)
UPDATE = (
    f"UPDATE view_jobs SET {', '.join(f'{c} = ?' for c in CONFIG_COLUMNS[1:])}, search = ?"
    " WHERE id = ?"
)
# A view made before the search column had none: it is added, and filled, at start.
ADD_SEARCH = "ALTER TABLE view_jobs ADD COLUMN search TEXT NOT NULL DEFAULT ''"
UNSEARCHABLE = "SELECT id, name, description FROM view_jobs WHERE search = ''"
SET_SEARCH = "UPDATE view_jobs SET search = ? WHERE id = ?"
DELETE = "DELETE FROM view_jobs WHERE id = ?"
SET_LAST_RUN = (
    "UPDATE view_jobs SET last_run_id = ?, last_run_status = ?, last_run_at = ?"
    " WHERE id = ? AND (last_run_at IS NULL OR last_run_at <= ?)"
)
SET_LAST_RUN_STATUS = "UPDATE view_jobs SET last_run_status = ? WHERE last_run_id = ?"
WHERE = {
    "enabled": "enabled = ?",
    "job_type": "job_type = ?",
    "name_prefix": "name >= ? AND name < ?",
    "cursor": "(name, id) > (?, ?)",
    # A scan of the case-folded column: no index serves a substring, and SQLite's LIKE
    # folds only ASCII, so both sides are folded by Python (see bench/job_search.py).
    "search": "search LIKE ? ESCAPE '\\'",
    "folder": "(folder = ? OR (folder >= ? AND folder < ?))",
    "tag": "EXISTS (SELECT 1 FROM json_each(view_jobs.tags) AS t WHERE t.value = ?)",
    "status": "last_run_status = ?",
}
ORDER = " ORDER BY name, id LIMIT ?"
# Per sort: the keyset condition after the cursor, and the order (see projections.jobs.SORTS).
LAST_RUN = "COALESCE(last_run_at, '')"
STATUS = "COALESCE(last_run_status, '')"
SORTED = {
    "last_run": (f"({LAST_RUN}, id) < (?, ?)", f" ORDER BY {LAST_RUN} DESC, id DESC LIMIT ?"),
    "last_status": (f"({STATUS}, name, id) > (?, ?, ?)", f" ORDER BY {STATUS}, name, id LIMIT ?"),
}
COUNT = "SELECT count(*) FROM view_jobs"
OFFSET = " OFFSET ?"
FOLDERS = "SELECT folder, count(*) FROM view_jobs GROUP BY folder"
TAGS = "SELECT t.value, count(*) FROM view_jobs, json_each(view_jobs.tags) AS t GROUP BY t.value"


def _encode(row: dict[str, Any]) -> list[Any]:
    """A job row (CONFIG_COLUMNS) as SQLite values, in CONFIG_COLUMNS order."""
    return [
        str(row["id"]),
        row["version"],
        row["name"],
        row["description"],
        row["job_type"],
        dumps(row["program"]),
        dumps(row["parameters"]),
        row["schedule_cron"],
        row["schedule_timezone"],
        row["log_level"],
        int(row["enabled"]),
        dumps(row["policies"]),
        dumps(row["secrets"]),
        None if row["name_shared_with"] is None else str(row["name_shared_with"]),
        ts(row["created_at"]),
        row["created_by"],
        ts(row["updated_at"]),
        row["updated_by"],
        row["folder"],
        dumps(row["tags"]),
        None if row["parameters_schema"] is None else dumps(row["parameters_schema"]),
    ]


def _decode(record: Any) -> dict[str, Any]:
    """A view_jobs record (all COLUMNS) as Python values."""
    row = dict(zip(COLUMNS, record, strict=True))
    row["id"] = UUID(row["id"])
    for column in ("program", "parameters", "policies", "secrets", "tags"):
        row[column] = orjson.loads(row[column])
    for secret in row["secrets"]:
        secret["updated_at"] = datetime.fromisoformat(secret["updated_at"])
    schema = row["parameters_schema"]
    row["parameters_schema"] = None if schema is None else orjson.loads(schema)
    row["enabled"] = bool(row["enabled"])
    row["last_run_id"] = to_uuid(row["last_run_id"])
    row["name_shared_with"] = to_uuid(row["name_shared_with"])
    for column in ("created_at", "updated_at", "last_run_at"):
        row[column] = dt(row[column])
    return row


def _last_run(job_id: UUID, last: LastRun) -> tuple[Any, ...]:
    at = ts(last.requested_at)
    return (str(last.run_id), last.status, at, str(job_id), at)


class SQLiteJobsView(SQLiteJobSchedules, SQLiteView, JobsView):
    """The jobs view in table view_jobs."""

    TABLES = ("view_jobs",)
    DDL = DDL

    def _create_table(self, c: SQLiteCursor) -> None:
        super()._create_table(c)
        c.execute("SELECT name FROM pragma_table_info('view_jobs')")
        present = {name for (name,) in c.fetchall()}
        for column, definition in ADD_COLUMNS.items():
            if column not in present:
                c.execute(f"ALTER TABLE view_jobs ADD COLUMN {column} {definition}")
        for statement in INDEXES:
            c.execute(statement)

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute("SELECT name FROM pragma_table_info('view_jobs')")
            if "search" not in {row[0] for row in cursor.fetchall()}:
                cursor.execute(ADD_SEARCH)
            cursor.execute(UNSEARCHABLE)
            rows = [{"id": r[0], "name": r[1], "description": r[2]} for r in cursor.fetchall()]
            cursor.executemany(SET_SEARCH, [(search_text(row), row["id"]) for row in rows])

    def apply(self, changes: JobsChanges, tracking: Tracking) -> None:
        inserts, updates, deletes = changes.split()
        with self.writing(tracking) as cursor:
            if inserts:
                cursor.executemany(INSERT, [[*_encode(row), search_text(row)] for row in inserts])
            if updates:
                # Policies and secrets change by parts: merge them into the rows as they are.
                current = self._select(cursor, [change.job_id for change in updates])
                # A job the view never saw registered (not possible when it is built from
                # the start of the log) has nothing to change.
                updates = [change for change in updates if change.job_id in current]
                rows = [change.merge_into(current[change.job_id]) for change in updates]
                cursor.executemany(
                    UPDATE,
                    [[*_encode(row)[1:], search_text(row), str(row["id"])] for row in rows],
                )
            if deletes:
                cursor.executemany(DELETE, [(str(job_id),) for job_id in deletes])
            if changes.run_status:
                cursor.executemany(
                    SET_LAST_RUN_STATUS,
                    [(status, str(run_id)) for run_id, status in changes.run_status.items()],
                )
            if changes.last_runs:
                cursor.executemany(
                    SET_LAST_RUN,
                    [_last_run(job_id, last) for job_id, last in changes.last_runs.items()],
                )

    @staticmethod
    def _select(cursor: SQLiteCursor, job_ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
        found: dict[UUID, dict[str, Any]] = {}
        for part in chunks(job_ids):
            cursor.execute(
                f"{SELECT} WHERE id IN ({placeholders(len(part))})", [str(i) for i in part]
            )
            for record in cursor.fetchall():
                row = _decode(record)
                found[row["id"]] = row
        return found

    def get_job(self, job_id: UUID) -> dict[str, Any] | None:
        with self.reading() as cursor:
            cursor.execute(f"{SELECT} WHERE id = ?", (str(job_id),))
            record = cursor.fetchone()
        return None if record is None else job_dict(_decode(record))

    def _filter(self, query: JobQuery) -> tuple[list[str], list[Any]]:
        """The conditions and parameters of a query, shared by the list and its count."""
        where: list[str] = []
        params: list[Any] = []
        if query.enabled is not None:
            where.append(WHERE["enabled"])
            params.append(int(query.enabled))
        if query.job_type is not None:
            where.append(WHERE["job_type"])
            params.append(query.job_type)
        if query.name_prefix:
            where.append(WHERE["name_prefix"])
            params += [query.name_prefix, prefix_upper_bound(query.name_prefix)]
        if query.search:
            where.append(WHERE["search"])
            params.append(search_pattern(query.search))
        if query.folder:
            where.append(WHERE["folder"])
            params += folder_range(query.folder)
        for tag in query.tags:
            where.append(WHERE["tag"])
            params.append(tag)
        if query.status:
            where.append(WHERE["status"])
            params.append(query.status)
        return where, params

    def list_jobs(
        self,
        query: JobQuery = ALL_JOBS,
        *,
        limit: int = 50,
        cursor: str | None = None,
        sort: str = "name",
        offset: int = 0,
        at: datetime | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        limit = page_size(limit)
        sort = check_sort(sort)
        offset = check_offset(offset)
        where, params = self._filter(query)
        if sort == "next_run":
            return next_run_page(
                self._schedules(where, params),
                at or datetime.now(UTC),
                limit=limit,
                cursor=cursor,
                offset=offset,
                fetch=self._jobs_by_id,
            )
        after, order = SORTED.get(sort, (WHERE["cursor"], ORDER))
        if cursor is not None:
            *key, after_id = parse_sort_cursor(cursor, sort)
            where.append(after)
            params += [*("" if k is None else k for k in key), str(after_id)]
        statement = SELECT + (" WHERE " + " AND ".join(where) if where else "") + order + OFFSET
        with self.reading() as db:
            db.execute(statement, [*params, limit + 1, offset])  # one more: a next page?
            records = db.fetchall()
        jobs = [job_dict(_decode(record)) for record in records[:limit]]
        return jobs, sort_cursor(jobs[-1], sort) if len(records) > limit else None

    def _schedules(self, where: list[str], params: list[Any]) -> list[ScheduleRow]:
        query = "SELECT id, schedule_cron, schedule_timezone, enabled FROM view_jobs"
        with self.reading() as db:
            db.execute(query + (" WHERE " + " AND ".join(where) if where else ""), params)
            return [(UUID(r[0]), r[1], r[2], bool(r[3])) for r in db.fetchall()]

    def _jobs_by_id(self, job_ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
        with self.reading() as db:
            return {job_id: job_dict(row) for job_id, row in self._select(db, job_ids).items()}

    def count_jobs(self, query: JobQuery = ALL_JOBS) -> int:
        where, params = self._filter(query)
        with self.reading() as db:
            db.execute(COUNT + (" WHERE " + " AND ".join(where) if where else ""), params)
            (total,) = db.fetchone()
        return int(total)

    def job_folders(self) -> dict[str, int]:
        with self.reading() as db:
            db.execute(FOLDERS)
            return {folder: count for folder, count in db.fetchall()}

    def job_tags(self) -> dict[str, int]:
        with self.reading() as db:
            db.execute(TAGS)
            return {tag: count for tag, count in db.fetchall()}
