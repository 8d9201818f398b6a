"""The dashboard's queries in SQLite: runs per hour, recent failures and missed slots, the
schedules of enabled jobs and the job types in use. Mixed into the runs and jobs views."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from adapters.sqlite_views.common import SQLiteView, dt, dumps, placeholders, ts

# Times are fixed-width ISO text, so the first 13 characters are the UTC hour; from the
# start of the hour `since` is in (its first 13 characters).
PER_HOUR = (
    "SELECT substr(requested_at, 1, 13) AS hour, status, count(*) FROM view_runs"
    " WHERE requested_at >= ? GROUP BY hour, status ORDER BY hour, status"
)
# Recent failures and missed slots, newest finish first: one index range per status.
RUNS_DDL = (
    "CREATE INDEX IF NOT EXISTS view_runs_status_finished_idx"
    " ON view_runs (status, finished_at DESC, id DESC)",
)
SCHEDULES = (
    "SELECT schedule_cron, COALESCE(schedule_timezone, 'UTC') AS zone, count(*) FROM view_jobs"
    " WHERE enabled = 1 AND schedule_cron IS NOT NULL GROUP BY schedule_cron, zone"
    " ORDER BY schedule_cron, zone"
)
# The due schedules go as one JSON array of [cron, zone, fire time] (fire times as the
# views' sortable text), joined to the jobs on their schedule.
DUE = (
    "SELECT j.id, j.name, j.schedule_cron, j.schedule_timezone, d.fire FROM view_jobs AS j"
    " JOIN (SELECT json_extract(value, '$[0]') AS cron, json_extract(value, '$[1]') AS zone,"
    " json_extract(value, '$[2]') AS fire FROM json_each(?)) AS d"
    " ON j.schedule_cron = d.cron AND COALESCE(j.schedule_timezone, 'UTC') = d.zone"
    " WHERE j.enabled = 1 ORDER BY d.fire, j.name, j.id LIMIT ?"
)
TYPES = "SELECT job_type, count(*) FROM view_jobs GROUP BY job_type"


class SQLiteRunStats(SQLiteView):
    """RunsView.runs_per_hour and .finished_since. The runs view gives its SELECT of every
    run column and the decoder of its rows."""

    SELECT_RUNS: str
    decode_run: Callable[[Any], dict[str, Any]]

    def runs_per_hour(self, since: datetime) -> list[tuple[datetime, str, int]]:
        with self.reading() as cursor:
            cursor.execute(PER_HOUR, ((ts(since) or "")[:13],))
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
    """JobsView.schedule_counts, .jobs_due and .job_type_counts."""

    def schedule_counts(self) -> list[tuple[str, str, int]]:
        with self.reading() as cursor:
            cursor.execute(SCHEDULES)
            return [(cron, zone, count) for cron, zone, count in cursor.fetchall()]

    def jobs_due(
        self, due: Sequence[tuple[str, str, datetime]], limit: int = 50
    ) -> list[dict[str, Any]]:
        if not due:
            return []
        wanted = dumps([[cron, zone, ts(fire)] for cron, zone, fire in due])
        with self.reading() as cursor:
            cursor.execute(DUE, (wanted, limit))
            records = cursor.fetchall()
        return [
            {
                "id": UUID(i),
                "name": name,
                "schedule_cron": cron,
                "schedule_timezone": zone,
                "next_run": dt(fire),
            }
            for i, name, cron, zone, fire in records
        ]

    def job_type_counts(self) -> dict[str, int]:
        with self.reading() as cursor:
            cursor.execute(TYPES)
            return {job_type: count for job_type, count in cursor.fetchall()}
