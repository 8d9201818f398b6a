"""The jobs view in PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

import orjson
from eventsourcing.persistence import Tracking
from psycopg import Cursor
from psycopg.rows import DictRow

from adapters.postgres_views.common import PostgresView
from adapters.postgres_views.dashboard import JOBS_QUERIES, PostgresJobSchedules
from adapters.postgres_views.search_index import create_search_index
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
    job_dict,
    prefix_upper_bound,
    search_pattern,
    search_text,
)

DDL = (
    # Names sort by code point (COLLATE "C"), as in SQLite, so pages and prefix ranges are
    # the same in both stores and whatever the database's locale.
    """CREATE TABLE IF NOT EXISTS {s}.view_jobs (
        id uuid PRIMARY KEY,
        version integer NOT NULL,
        name text COLLATE "C" NOT NULL,
        description text NOT NULL,
        job_type text NOT NULL,
        program jsonb NOT NULL,
        parameters jsonb NOT NULL,
        schedule_cron text,
        schedule_timezone text,
        log_level text NOT NULL,
        enabled boolean NOT NULL,
        policies jsonb NOT NULL,
        secrets jsonb NOT NULL,
        name_shared_with uuid,
        last_run_id uuid,
        last_run_status text,
        last_run_at timestamptz,
        created_at timestamptz NOT NULL,
        created_by text NOT NULL,
        updated_at timestamptz NOT NULL,
        updated_by text NOT NULL,
        search text NOT NULL DEFAULT '',
        folder text COLLATE "C" NOT NULL DEFAULT '',
        tags jsonb NOT NULL DEFAULT '[]',
        parameters_schema jsonb
    )""",
    # Tables created before the column existed get it on their next start.
    "ALTER TABLE {s}.view_jobs ADD COLUMN IF NOT EXISTS name_shared_with uuid",
    # A view made before the search column had none: it is added here, and filled at start.
    "ALTER TABLE {s}.view_jobs ADD COLUMN IF NOT EXISTS search text NOT NULL DEFAULT ''",
    'ALTER TABLE {s}.view_jobs ADD COLUMN IF NOT EXISTS folder text COLLATE "C"'
    " NOT NULL DEFAULT ''",
    "ALTER TABLE {s}.view_jobs ADD COLUMN IF NOT EXISTS tags jsonb NOT NULL DEFAULT '[]'",
    # SQL NULL: the job has no parameters schema.
    "ALTER TABLE {s}.view_jobs ADD COLUMN IF NOT EXISTS parameters_schema jsonb",
    "CREATE INDEX IF NOT EXISTS view_jobs_name_idx ON {s}.view_jobs (name, id)",
    # A folder and its subfolders are one range of this index; `tags @> '["x"]'` uses the GIN.
    "CREATE INDEX IF NOT EXISTS view_jobs_folder_idx ON {s}.view_jobs (folder, name, id)",
    "CREATE INDEX IF NOT EXISTS view_jobs_tags_idx"
    " ON {s}.view_jobs USING gin (tags jsonb_path_ops)",
    "CREATE INDEX IF NOT EXISTS view_jobs_last_run_at_idx"
    " ON {s}.view_jobs ((COALESCE(last_run_at, '-infinity')), id)",
    # Later run events name only the run: their status goes to the job whose last run it is.
    "CREATE INDEX IF NOT EXISTS view_jobs_last_run_idx ON {s}.view_jobs (last_run_id)",
)

JSON_COLUMNS = ("program", "parameters", "policies", "secrets", "tags", "parameters_schema")
COLUMNS = (*CONFIG_COLUMNS, "last_run_id", "last_run_status", "last_run_at")
_VALUES = ["%s::jsonb" if c in JSON_COLUMNS else "%s" for c in CONFIG_COLUMNS]
SELECT = f"SELECT {', '.join(COLUMNS)} FROM {{s}}.view_jobs"
QUERIES = {
    "select_one": f"{SELECT} WHERE id = %s",
    "select_many": f"{SELECT} WHERE id = ANY(%s)",
    "insert": f"INSERT INTO {{s}}.view_jobs ({', '.join(CONFIG_COLUMNS)}, search)"
    f" VALUES ({', '.join(_VALUES)}, %s)",
    "update": "UPDATE {s}.view_jobs SET "
    + ", ".join(f"{c} = {v}" for c, v in zip(CONFIG_COLUMNS[1:], _VALUES[1:], strict=True))
    + ", search = %s WHERE id = %s",
    "unsearchable": "SELECT id, name, description FROM {s}.view_jobs WHERE search = ''",
    "set_search": "UPDATE {s}.view_jobs SET search = %s WHERE id = %s",
    "folders": "SELECT folder, count(*) AS n FROM {s}.view_jobs GROUP BY folder",
    "tags": "SELECT t.tag, count(*) AS n FROM {s}.view_jobs,"
    " jsonb_array_elements_text(tags) AS t(tag) GROUP BY t.tag",
    "delete": "DELETE FROM {s}.view_jobs WHERE id = ANY(%s)",
    # The last-run maps go as JSON objects ({job id: LastRun}, {run id: status}): orjson
    # writes them in C, where array parameters would cost Python work per value.
    "set_last_run": "UPDATE {s}.view_jobs AS j"
    " SET last_run_id = u.run_id, last_run_status = u.status, last_run_at = u.requested_at"
    " FROM json_each(%s::json) AS e,"
    " json_to_record(e.value) AS u(run_id uuid, status text, requested_at timestamptz)"
    " WHERE j.id = e.key::uuid"
    " AND (j.last_run_at IS NULL OR j.last_run_at <= u.requested_at)",
    "set_last_run_status": "UPDATE {s}.view_jobs AS j SET last_run_status = u.value"
    " FROM json_each_text(%s::json) AS u WHERE j.last_run_id = u.key::uuid",
}
WHERE = {
    "enabled": "enabled = %s",
    "job_type": "job_type = %s",
    "name_prefix": "name >= %s AND name < %s",
    "cursor": "(name, id) > (%s, %s)",
    # Served by a pg_trgm GIN index where the extension can be had (see search_index.py).
    "search": "search LIKE %s ESCAPE '\\'",
    "folder": "(folder = %s OR (folder >= %s AND folder < %s))",
    "tag": "tags @> %s::jsonb",
    "status": "last_run_status = %s",
}
ORDER = " ORDER BY name, id LIMIT %s"
# Per sort: the keyset condition after the cursor, and the order (see projections.jobs.SORTS).
LAST_RUN = "COALESCE(last_run_at, '-infinity')"
STATUS = "COALESCE(last_run_status, '') COLLATE \"C\""
SORTED = {
    "last_run": (
        f"({LAST_RUN}, id) < (%s::timestamptz, %s)",
        f" ORDER BY {LAST_RUN} DESC, id DESC LIMIT %s",
    ),
    "last_status": (
        f"({STATUS}, name, id) > (%s, %s, %s)",
        f" ORDER BY {STATUS}, name, id LIMIT %s",
    ),
}
COUNT = "SELECT count(*) AS n FROM {s}.view_jobs"
OFFSET = " OFFSET %s"
# The sentinel each sort key stands for when the job has none (see SORTED).
NO_KEY = {"last_run": "-infinity", "last_status": ""}


def _dumps(value: Any) -> str:
    # Keys may be UUIDs (the last-run maps); dataclasses (LastRun) become objects.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _encode(row: dict[str, Any]) -> list[Any]:
    """A job row (CONFIG_COLUMNS) as statement parameters, in CONFIG_COLUMNS order."""
    # None stays SQL NULL (a JSON column with nothing in it: no parameters schema).
    return [
        _dumps(row[c]) if c in JSON_COLUMNS and row[c] is not None else row[c]
        for c in CONFIG_COLUMNS
    ]


def _decode(row: DictRow) -> dict[str, Any]:
    """A view_jobs row with its secrets' times (JSON strings) back as datetimes."""
    for secret in row["secrets"]:
        secret["updated_at"] = datetime.fromisoformat(secret["updated_at"])
    return row


class PostgresJobsView(PostgresJobSchedules, PostgresView, JobsView):
    """The jobs view in table view_jobs."""

    TABLES = ("view_jobs",)
    DDL = DDL
    QUERIES = {**QUERIES, **JOBS_QUERIES}

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(self.q["unsearchable"])
            rows = cursor.fetchall()
            cursor.executemany(self.q["set_search"], [(search_text(r), r["id"]) for r in rows])
        create_search_index(self.datastore, self.datastore.schema)

    def apply(self, changes: JobsChanges, tracking: Tracking) -> None:
        inserts, updates, deletes = changes.split()
        with self.writing(tracking) as cursor:
            if inserts:
                cursor.executemany(
                    self.q["insert"], [[*_encode(row), search_text(row)] for row in inserts]
                )
            if updates:
                # Policies and secrets change by parts: merge them into the rows as they are.
                current = self._select(cursor, [change.job_id for change in updates])
                # A job the view never saw registered (not possible when it is built from
                # the start of the log) has nothing to change.
                rows = [c.merge_into(current[c.job_id]) for c in updates if c.job_id in current]
                cursor.executemany(
                    self.q["update"],
                    [[*_encode(row)[1:], search_text(row), row["id"]] for row in rows],
                )
            if deletes:
                cursor.execute(self.q["delete"], (deletes,))
            if changes.run_status:
                cursor.execute(self.q["set_last_run_status"], (_dumps(changes.run_status),))
            if changes.last_runs:
                cursor.execute(self.q["set_last_run"], (_dumps(changes.last_runs),))

    def _select(self, cursor: Cursor[DictRow], job_ids: list[UUID]) -> dict[UUID, DictRow]:
        cursor.execute(self.q["select_many"], (job_ids,))
        return {row["id"]: row for row in cursor.fetchall()}

    def get_job(self, job_id: UUID) -> dict[str, Any] | None:
        rows = self.fetch(self.q["select_one"], (job_id,))
        return job_dict(_decode(rows[0])) if rows else None

    def _filter(self, query: JobQuery) -> tuple[list[str], list[Any]]:
        """The conditions and parameters of a query, shared by the list and its count."""
        where: list[str] = []
        params: list[Any] = []
        if query.enabled is not None:
            where.append(WHERE["enabled"])
            params.append(query.enabled)
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
            params.append(_dumps([tag]))
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
            params += [*(NO_KEY[sort] if k is None else k for k in key), after_id]
        statement = SELECT + (" WHERE " + " AND ".join(where) if where else "") + order + OFFSET
        rows = self.fetch(self.compose(statement), [*params, limit + 1, offset])  # +1: next page?
        jobs = [job_dict(_decode(row)) for row in rows[:limit]]
        return jobs, sort_cursor(jobs[-1], sort) if len(rows) > limit else None

    def _schedules(self, where: list[str], params: list[Any]) -> list[ScheduleRow]:
        query = "SELECT id, schedule_cron, schedule_timezone, enabled FROM {s}.view_jobs"
        where_clause = " WHERE " + " AND ".join(where) if where else ""
        rows = self.fetch_tuples(self.compose(query + where_clause), params)
        return cast(list[ScheduleRow], rows)  # (uuid, text, text, boolean): the row's shape

    def _jobs_by_id(self, job_ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
        rows = self.fetch(self.q["select_many"], (job_ids,))
        return {row["id"]: job_dict(_decode(row)) for row in rows}

    def count_jobs(self, query: JobQuery = ALL_JOBS) -> int:
        where, params = self._filter(query)
        statement = COUNT + (" WHERE " + " AND ".join(where) if where else "")
        return int(self.fetch(self.compose(statement), params)[0]["n"])

    def job_folders(self) -> dict[str, int]:
        return {row["folder"]: row["n"] for row in self.fetch(self.q["folders"], ())}

    def job_tags(self) -> dict[str, int]:
        return {row["tag"]: row["n"] for row in self.fetch(self.q["tags"], ())}
