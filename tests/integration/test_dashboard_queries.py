"""The dashboard's read queries, one contract run against SQLite and PostgreSQL: runs per
hour by status, recent failures and missed slots, enabled schedules and job types in use."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from domain.schedule import CronSchedule
from tests.integration import test_views_contract as contract
from tests.integration.test_views_contract import Views, new_job, new_run


def hour_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class DashboardQueriesContract:
    """What every backend's views answer for the dashboard. Subclasses provide `views`."""

    @pytest.fixture
    def views(self) -> Iterator[Views]:
        raise NotImplementedError

    def test_runs_are_counted_per_hour_of_request_and_status(self, views: Views) -> None:
        job = new_job()
        ok, bad, waiting, other = new_run(job), new_run(job), new_run(job), new_run(job)
        for run in (ok, bad, other):
            run.start("w-1")
        ok.succeed()
        other.succeed()
        bad.fail(2, "boom")
        views.feed(job, ok, bad, waiting, other)
        since = ok.created_on - timedelta(hours=1)
        counted = views.runs.view.runs_per_hour(since)
        hours = {hour_of(r.created_on) for r in (ok, bad, waiting, other)}
        expected: dict[tuple[datetime, str], int] = {}
        for run in (ok, bad, waiting, other):
            key = (hour_of(run.created_on), str(run.status))
            expected[key] = expected.get(key, 0) + 1
        assert {(hour, status): n for hour, status, n in counted} == expected
        assert {hour for hour, _s, _n in counted} == hours
        assert all(hour.utcoffset() == timedelta(0) for hour, _s, _n in counted)
        assert counted == sorted(counted)  # oldest hour first, then by status
        last = max(r.created_on for r in (ok, bad, waiting, other))
        # Whole hours: a time inside the last run's hour counts that hour, the next does not.
        assert views.runs.view.runs_per_hour(last + timedelta(microseconds=1)) == [
            row for row in counted if row[0] == hour_of(last)
        ]
        assert views.runs.view.runs_per_hour(hour_of(last) + timedelta(hours=1)) == []

    def test_failures_and_missed_slots_since_a_time_newest_finish_first(self, views: Views) -> None:
        job = new_job()
        failed, timed_out, fine, missed, running = (new_run(job) for _ in range(5))
        for run in (failed, timed_out, fine, running):
            run.start("w-1")
        failed.fail(3, "line 1\nline 2\nTraceback: boom")
        fine.succeed()
        missed.skip("the previous run was still running")
        views.feed(job, failed, fine, missed, running, timed_out)
        timed_out.time_out()
        views.feed(timed_out)
        since = failed.created_on - timedelta(minutes=1)
        bad = views.runs.view.finished_since(("failed", "timed_out"), since)
        assert [r["id"] for r in bad] == [timed_out.id, failed.id]
        assert bad[1]["error"] == "line 1\nline 2\nTraceback: boom"
        assert bad[1]["exit_code"] == 3 and bad[1]["job_name"] == job.name
        assert bad[0]["error"].startswith("timed out after")
        assert views.runs.view.finished_since(("failed", "timed_out"), since, limit=1) == bad[:1]
        skipped = views.runs.view.finished_since(("skipped",), since)
        assert [(r["id"], r["error"]) for r in skipped] == [
            (missed.id, "the previous run was still running")
        ]
        future = datetime.now(UTC) + timedelta(hours=1)
        assert views.runs.view.finished_since(("failed", "timed_out"), future) == []
        assert views.runs.view.finished_since((), since) == []

    def test_schedules_of_enabled_jobs_are_counted_and_their_jobs_found_by_fire_time(
        self, views: Views
    ) -> None:
        hourly = CronSchedule.parse("0 * * * *", "Europe/Paris")
        daily = CronSchedule.parse("30 2 * * *", "UTC")
        b_hourly = new_job("b-hourly", schedule=hourly)
        a_hourly = new_job("a-hourly", schedule=hourly)
        a_daily = new_job("a-daily", schedule=daily)
        off = new_job("c-off", schedule=CronSchedule.parse("* * * * *", "UTC"))
        manual = new_job("d-manual")
        views.feed(b_hourly, a_hourly, a_daily, off, manual)
        off.disable("alice")
        views.feed(off)
        assert views.jobs.view.schedule_counts() == [
            ("0 * * * *", "Europe/Paris", 2),
            ("30 2 * * *", "UTC", 1),
        ]
        soon = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
        later = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)
        due = [("30 2 * * *", "UTC", later), ("0 * * * *", "Europe/Paris", soon)]
        found = views.jobs.view.jobs_due(due)
        assert [(j["name"], j["next_run"]) for j in found] == [
            ("a-hourly", soon),
            ("b-hourly", soon),
            ("a-daily", later),
        ]
        assert found[0] == {
            "id": a_hourly.id,
            "name": "a-hourly",
            "schedule_cron": "0 * * * *",
            "schedule_timezone": "Europe/Paris",
            "next_run": soon,
        }
        assert [j["name"] for j in views.jobs.view.jobs_due(due, limit=2)] == [
            "a-hourly",
            "b-hourly",
        ]
        gone = [("* * * * *", "UTC", soon)]  # the disabled job's schedule
        assert views.jobs.view.jobs_due(gone) == [] and views.jobs.view.jobs_due([]) == []

    def test_job_types_are_counted(self, views: Views) -> None:
        views.feed(new_job("a"), new_job("b"), new_job("c", job_type="powershell"))
        assert views.jobs.view.job_type_counts() == {"shell": 2, "powershell": 1}


class TestSQLiteDashboardQueries(DashboardQueriesContract):
    views = contract.TestSQLiteViews.views


@pytest.mark.postgres
class TestPostgresDashboardQueries(DashboardQueriesContract):
    views = contract.TestPostgresViews.views
