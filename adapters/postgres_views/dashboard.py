"""The dashboard's queries in PostgreSQL: runs per hour, recent failures and missed slots,
the schedules of enabled jobs and the job types in use. Mixed into the runs and jobs views,
whose QUERIES include these (composed with the view's schema)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from adapters.postgres_views.common import PostgresView

# The UTC hour of a request, as an immutable expression (date_trunc on a timestamptz
# depends on the session's zone), so an index can hold it: its statistics tell the planner
# there are a few thousand groups, not one per run, so it hashes them instead of sorting
# every run (measured: a sort spilling to disk). The range is on requested_at itself, from
# the start of `since`'s hour, so the expression is computed once per row, not twice.
HOUR = "date_trunc('hour', requested_at AT TIME ZONE 'UTC')"
RUNS_QUERIES = {
    "per_hour": f"SELECT {HOUR} AS hour, status, count(*) AS n FROM {{s}}.view_runs"
    " WHERE requested_at >= %s GROUP BY 1, 2 ORDER BY 1, 2",
}
# Recent failures and missed slots, newest finish first: one index range per status.
RUNS_DDL = (
    "CREATE INDEX IF NOT EXISTS view_runs_status_finished_idx"
    " ON {s}.view_runs (status, finished_at DESC, id DESC)",
    f"CREATE INDEX IF NOT EXISTS view_runs_hour_idx ON {{s}}.view_runs (({HOUR}), status)",
)
JOBS_QUERIES = {
    "schedules": "SELECT schedule_cron AS cron, COALESCE(schedule_timezone, 'UTC') AS zone,"
    " count(*) AS n FROM {s}.view_jobs WHERE enabled AND schedule_cron IS NOT NULL"
    ' GROUP BY 1, 2 ORDER BY schedule_cron COLLATE "C",'
    " COALESCE(schedule_timezone, 'UTC') COLLATE \"C\"",
    # The due schedules go as one JSON array of {cron, zone, fire}, joined to the jobs.
    "due": "SELECT j.id, j.name, j.schedule_cron, j.schedule_timezone, d.fire AS next_run"
    " FROM {s}.view_jobs AS j"
    " JOIN json_to_recordset(%s::json) AS d(cron text, zone text, fire timestamptz)"
    " ON j.schedule_cron = d.cron AND COALESCE(j.schedule_timezone, 'UTC') = d.zone"
    " WHERE j.enabled ORDER BY d.fire, j.name, j.id LIMIT %s",
    "types": "SELECT job_type, count(*) AS n FROM {s}.view_jobs GROUP BY job_type",
}


def hour_start(at: datetime) -> datetime:
    """The start of the UTC hour `at` is in."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class PostgresRunStats(PostgresView):
    """RunsView.runs_per_hour and .finished_since. The runs view gives its SELECT of every
    run column (a template with `{s}`)."""

    SELECT_RUNS: str

    def runs_per_hour(self, since: datetime) -> list[tuple[datetime, str, int]]:
        return [
            (row["hour"].replace(tzinfo=UTC), row["status"], row["n"])
            for row in self.fetch(self.q["per_hour"], (hour_start(since),))
        ]

    def finished_since(
        self, statuses: Sequence[str], since: datetime, limit: int = 20
    ) -> list[dict[str, Any]]:
        if not statuses:
            return []
        query = self.compose(
            f"{self.SELECT_RUNS} WHERE status = ANY(%s) AND finished_at >= %s"
            " ORDER BY finished_at DESC, id DESC LIMIT %s"
        )
        return list(self.fetch(query, (list(statuses), since, limit)))


class PostgresJobSchedules(PostgresView):
    """JobsView.schedule_counts, .jobs_due and .job_type_counts."""

    def schedule_counts(self) -> list[tuple[str, str, int]]:
        return [(row["cron"], row["zone"], row["n"]) for row in self.fetch(self.q["schedules"])]

    def jobs_due(
        self, due: Sequence[tuple[str, str, datetime]], limit: int = 50
    ) -> list[dict[str, Any]]:
        if not due:
            return []
        wanted = orjson.dumps([{"cron": c, "zone": z, "fire": f} for c, z, f in due]).decode()
        return list(self.fetch(self.q["due"], (wanted, limit)))

    def job_type_counts(self) -> dict[str, int]:
        return {row["job_type"]: row["n"] for row in self.fetch(self.q["types"])}
