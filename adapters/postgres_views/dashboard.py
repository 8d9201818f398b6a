"""The dashboard's queries in PostgreSQL: runs per hour, recent failures and missed slots,
the schedules of enabled jobs and the job types in use. Mixed into the runs and jobs views,
whose QUERIES include these (composed with the view's schema)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from adapters.postgres_views.common import PostgresView

# fetch() sets the session's zone to UTC, so date_trunc cuts UTC hours.
RUNS_QUERIES = {
    "per_hour": "SELECT date_trunc('hour', requested_at) AS hour, status, count(*) AS n"
    " FROM {s}.view_runs WHERE requested_at >= %s GROUP BY 1, 2 ORDER BY 1, 2",
}
# Recent failures and missed slots, newest finish first: one index range per status.
RUNS_DDL = (
    "CREATE INDEX IF NOT EXISTS view_runs_status_finished_idx"
    " ON {s}.view_runs (status, finished_at DESC, id DESC)",
)
JOBS_QUERIES = {
    "scheduled": "SELECT id, name, schedule_cron, schedule_timezone FROM {s}.view_jobs"
    " WHERE enabled AND schedule_cron IS NOT NULL ORDER BY name, id",
    "types": "SELECT job_type, count(*) AS n FROM {s}.view_jobs GROUP BY job_type",
}


class PostgresRunStats(PostgresView):
    """RunsView.runs_per_hour and .finished_since. The runs view gives its SELECT of every
    run column (a template with `{s}`)."""

    SELECT_RUNS: str

    def runs_per_hour(self, since: datetime) -> list[tuple[datetime, str, int]]:
        return [
            (row["hour"], row["status"], row["n"])
            for row in self.fetch(self.q["per_hour"], (since,))
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
    """JobsView.scheduled_jobs and .job_type_counts."""

    def scheduled_jobs(self) -> list[dict[str, Any]]:
        return list(self.fetch(self.q["scheduled"]))

    def job_type_counts(self) -> dict[str, int]:
        return {row["job_type"]: row["n"] for row in self.fetch(self.q["types"])}
