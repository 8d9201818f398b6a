"""RunsView.finished_runs, the job page's history, on SQLite and PostgreSQL alike: a job's
finished runs, latest finish first, bounded by a limit and a start, read along the index on
(job_id, finished_at). Fixtures and helpers are test_views_contract's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import eventsourcing.domain
import psycopg
import pytest

from adapters.postgres_views import runs as postgres_runs
from adapters.sqlite_views import runs as sqlite_runs
from domain import run as runs
from domain.errors import InvalidInput
from projections.run_stats import figures_of
from projections.runs import MAX_FINISHED_RUNS
from tests.integration import test_views_contract as contract
from tests.integration.test_views_contract import Views, new_job, new_run

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)


class Clock:
    """Event timestamps set by the test (eventsourcing reads the time through one function)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = T0
        monkeypatch.setattr(eventsourcing.domain, "datetime_now_with_tzinfo", lambda: self.now)

    def at(self, minutes: float) -> Clock:
        self.now = T0 + timedelta(minutes=minutes)
        return self


def ran(clock: Clock, job: Any, start: float, end: float, ending: str) -> runs.Run:
    """A run of `job` requested and started at minute `start`, ended at `end` by `ending`."""
    clock.at(start)
    run = new_run(job)
    run.start("w-1")
    clock.at(end)
    if ending == "succeed":
        run.succeed()
    elif ending == "fail":
        run.fail(1, "boom")
    else:
        run.time_out()
    return run


def row(run: runs.Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }


class RunHistoryContract:
    adapter_module: Any  # the module whose MAX_FIGURE_RUNS the store's view reads

    @pytest.fixture
    def views(self) -> Iterator[Views]:
        raise NotImplementedError

    def plan(self, views: Views, query: str) -> str:
        raise NotImplementedError

    def test_a_jobs_finished_runs_latest_finish_first_with_limit_and_since(
        self, views: Views, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        clock = Clock(monkeypatch)
        job, other = new_job("a"), new_job("b")
        views.feed(job, other)
        long_one = ran(clock, job, 0, 30, "succeed")  # started first, finished last
        short = ran(clock, job, 10, 11, "fail")
        timed_out = ran(clock, job, 12, 20, "time_out")
        views.feed(long_one, short, timed_out)  # whole rows
        clock.at(40)
        skipped = new_run(job)  # finished without ever starting
        skipped.skip("overlap")
        running, queued = new_run(job), new_run(job)
        running.start("w-2")
        elsewhere = ran(clock, other, 41, 45, "succeed")
        views.feed(skipped, running, queued, elsewhere)
        clock.at(50)
        patched = new_run(job)
        patched.start("w-3")
        views.feed(patched)
        clock.at(52.5)
        patched.succeed()  # a later batch: a patch of an existing row
        views.feed(patched)

        view = views.runs.view
        expected = [row(r) for r in (patched, skipped, long_one, timed_out, short)]
        assert view.finished_runs(job.id) == expected
        assert view.finished_runs(job.id, limit=2) == expected[:2]
        # `since` is inclusive, on the finish.
        assert view.finished_runs(job.id, since=long_one.finished_at) == expected[:3]
        assert view.finished_runs(job.id, since=T0 + timedelta(days=1)) == []
        assert view.finished_runs(other.id) == [row(elsewhere)]
        assert expected[1]["started_at"] is None
        assert expected[0]["finished_at"] - expected[0]["started_at"] == timedelta(seconds=150)
        with pytest.raises(InvalidInput):
            view.finished_runs(job.id, limit=0)

    def test_the_limit_is_capped(self, views: Views, monkeypatch: pytest.MonkeyPatch) -> None:
        clock = Clock(monkeypatch)
        job = new_job()
        views.feed(job, ran(clock, job, 0, 1, "succeed"))
        assert len(views.runs.view.finished_runs(job.id, limit=MAX_FINISHED_RUNS * 10)) == 1

    def test_finished_runs_are_read_along_the_job_and_finish_index(self, views: Views) -> None:
        assert "view_runs_finished_idx" in self.plan(views, "finished")
        assert "view_runs_finished_idx" in self.plan(views, "figures")

    def test_history_figures_are_rate_median_p95_per_window_and_a_daily_median(
        self, views: Views, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        clock = Clock(monkeypatch)
        job, other = new_job("a"), new_job("b")
        views.feed(job, other)
        now = T0 + timedelta(days=40, hours=5)
        minutes = (now - T0).total_seconds() / 60

        def ago(days: float, seconds: float, ending: str, of: Any = job) -> runs.Run:
            end = minutes - days * 24 * 60
            return ran(clock, of, end - seconds / 60, end, ending)

        made = [
            ago(0.01, 1.25, "succeed"),
            ago(0.02, 7.5, "fail"),
            ago(0.1, 3.000001, "succeed"),  # the same UTC day as the two above
            ago(2, 60.5, "succeed"),
            ago(6.9, 12, "time_out"),
            ago(7.1, 4, "succeed"),  # outside the week, inside the month
            ago(20, 30, "fail"),
            ago(29.9, 2, "succeed"),
            ago(31, 5, "succeed"),  # outside the month
            ago(-1, 5, "fail"),  # after `now`: not yet, as far as the figures go
            ago(1, 99, "fail", of=other),
        ]
        clock.at(minutes - 60)
        never = new_run(job)
        never.skip("overlap")  # never started: no duration, neither success nor failure
        views.feed(*made[:5])
        views.feed(*made[5:], never)

        figures = views.runs.view.history_figures(job.id, now=now, windows=(30, 7), trend_days=30)
        week, month = figures.windows
        assert (week.days, week.ran, week.succeeded) == (7, 5, 3)
        assert (month.days, month.ran, month.succeeded) == (30, 8, 5)
        assert week.median_seconds == pytest.approx(7.5)
        assert week.p95_seconds == pytest.approx(12 + 0.8 * 48.5)  # rank 3.8 of 0..4
        assert not figures.capped
        oracle = figures_of([row(r) for r in made[:8]], now, (7, 30), 30)
        # UTC days from Nov 12 (29 days before Dec 11): the run 29.9 days ago is on Nov 11.
        assert [(p.day.isoformat(), p.runs) for p in figures.trend] == [
            ("2026-11-21", 1),
            ("2026-12-04", 2),
            ("2026-12-09", 1),
            ("2026-12-11", 3),
        ]
        for got, want in zip(figures.trend, oracle.trend, strict=True):
            assert (got.day, got.runs) == (want.day, want.runs)
            assert got.median_seconds == pytest.approx(want.median_seconds, abs=1e-6)
        for got_stats, want_stats in zip(figures.windows, oracle.windows, strict=True):
            assert got_stats.median_seconds == pytest.approx(want_stats.median_seconds, abs=1e-6)
            assert got_stats.p95_seconds == pytest.approx(want_stats.p95_seconds, abs=1e-6)
        assert figures.trend[-1].runs == 3 and figures.trend[-1].median_seconds == pytest.approx(3)

        nothing = views.runs.view.history_figures(other.id, now=T0, windows=(7,), trend_days=30)
        assert [(w.ran, w.median_seconds, w.p95_seconds) for w in nothing.windows] == [
            (0, None, None)
        ]
        assert nothing.trend == []

    def test_history_figures_read_at_most_so_many_runs_the_latest(
        self, views: Views, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        clock = Clock(monkeypatch)
        job = new_job()
        made = [ran(clock, job, i * 10, i * 10 + i + 1, "succeed") for i in range(5)]
        views.feed(job, *made)
        monkeypatch.setattr(self.adapter_module, "MAX_FIGURE_RUNS", 3)
        now = T0 + timedelta(hours=2)
        figures = views.runs.view.history_figures(job.id, now=now, windows=(7,), trend_days=30)
        assert figures.capped
        assert figures.windows[0].ran == 3
        assert figures.windows[0].median_seconds == pytest.approx(4 * 60)  # of 3, 4 and 5 min


class TestSQLiteRunHistory(RunHistoryContract):
    views = contract.TestSQLiteViews.views
    adapter_module = sqlite_runs

    def plan(self, views: Views, query: str) -> str:
        view: Any = views.runs.view  # SQLiteRunsView
        statement, params = {
            "finished": (sqlite_runs.FINISHED, ("x", "", 50)),
            "figures": (sqlite_runs.FIGURE_RUNS, ("x", "", "", 50)),
        }[query]
        with view.datastore.transaction(commit=False) as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {statement}", params)
            return " ".join(str(tuple(r)) for r in cursor.fetchall())


@pytest.mark.postgres
class TestPostgresRunHistory(RunHistoryContract):
    views = contract.TestPostgresViews.views
    adapter_module = postgres_runs

    def plan(self, views: Views, query: str) -> str:
        view: Any = views.runs.view  # PostgresRunsView
        job = "00000000-0000-0000-0000-000000000000"
        statement, params = {
            "finished": (view.q["finished"], (job, None, 50)),
            "figures": (
                view.q["figures"],
                {"job": job, "since": T0, "now": T0, "most": 50, "first_day": T0}
                | {"windows": [7], "starts": [T0]},
            ),
        }[query]
        with psycopg.connect(contract.DATABASE_URL or "", autocommit=True) as conn:
            conn.execute("SET enable_seqscan = off")  # a handful of rows: forbid the scan
            conn.execute("SET enable_bitmapscan = off")
            rows = conn.execute(f"EXPLAIN {statement.as_string()}", params).fetchall()
        return " ".join(r[0] for r in rows)
