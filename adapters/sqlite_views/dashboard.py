"""The dashboard's queries in SQLite: runs per hour, recent failures and missed slots, the
schedules of enabled jobs and the job types in use. Mixed into the runs and jobs views."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from adapters.sqlite_views.common import SQLiteView, placeholders, ts

# Times are fixed-width ISO text, so the first 13 characters are the UTC hour.
PER_HOUR = (
    "SELECT substr(requested_at, 1, 13) AS hour, status, count(*) FROM view_runs"
    " WHERE requested_at >= ? GROUP BY hour, status ORDER BY hour, status"
)
# Recent failures and missed slots, newest finish first: one index range per status.
RUNS_DDL = (
    "CREATE INDEX IF NOT EXISTS view_runs_status_finished_idx"
    " ON view_runs (status, finished_at DESC, id DESC)",
)
SCHEDULED = (
    "SELECT id, name, schedule_cron, schedule_timezone FROM view_jobs"
    " WHERE enabled = 1 AND schedule_cron IS NOT NULL ORDER BY name, id"
)
TYPES = "SELECT job_type, count(*) FROM view_jobs GROUP BY job_type"


class SQLiteRunStats(SQLiteView):
    """RunsView.runs_per_hour and .finished_since. The runs view gives its SELECT of every
    run column and the decoder of its rows."""

    SELECT_RUNS: str
    decode_run: Callable[[Any], dict[str, Any]]

    def runs_per_hour(self, since: datetime) -> list[tuple[datetime, str, int]]:
        with self.reading() as cursor:
            cursor.execute(PER_HOUR, (ts(since),))
            records = cursor.fetchall()
        return [
            (datetime.fromisoformat(f"{hour}:00:00+00:00"), status, count)
            for hour, status, count in records
        ]

    def finished_since(
        self, statuses: Sequence[str], since: datetime, limit: int = 20
    ) -> list[dict[str, Any]]:
        if not statuses:
            return []
        query = (
            f"{self.SELECT_RUNS} WHERE status IN ({placeholders(len(statuses))})"
            " AND finished_at >= ? ORDER BY finished_at DESC, id DESC LIMIT ?"
        )
        with self.reading() as cursor:
            cursor.execute(query, [*statuses, ts(since), limit])
            records = cursor.fetchall()
        return [self.decode_run(record) for record in records]


class SQLiteJobSchedules(SQLiteView):
    """JobsView.scheduled_jobs and .job_type_counts."""

    def scheduled_jobs(self) -> list[dict[str, Any]]:
        with self.reading() as cursor:
            cursor.execute(SCHEDULED)
            records = cursor.fetchall()
        return [
            {"id": UUID(i), "name": name, "schedule_cron": cron, "schedule_timezone": zone}
            for i, name, cron, zone in records
        ]

    def job_type_counts(self) -> dict[str, int]:
        with self.reading() as cursor:
            cursor.execute(TYPES)
            return {job_type: count for job_type, count in cursor.fetchall()}
