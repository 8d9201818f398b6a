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

from domain import run as runs
from domain.errors import InvalidInput
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
    @pytest.fixture
    def views(self) -> Iterator[Views]:
        raise NotImplementedError

    def plan(self, views: Views) -> str:
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
        assert "view_runs_finished_idx" in self.plan(views)


class TestSQLiteRunHistory(RunHistoryContract):
    views = contract.TestSQLiteViews.views

    def plan(self, views: Views) -> str:
        from adapters.sqlite_views.runs import FINISHED

        view: Any = views.runs.view  # SQLiteRunsView
        with view.datastore.transaction(commit=False) as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {FINISHED}", ("x", "", 50))
            return " ".join(str(tuple(r)) for r in cursor.fetchall())


@pytest.mark.postgres
class TestPostgresRunHistory(RunHistoryContract):
    views = contract.TestPostgresViews.views

    def plan(self, views: Views) -> str:
        view: Any = views.runs.view  # PostgresRunsView
        query = view.q["finished"].as_string()
        with psycopg.connect(contract.DATABASE_URL or "", autocommit=True) as conn:
            conn.execute("SET enable_seqscan = off")  # a handful of rows: forbid the scan
            conn.execute("SET enable_bitmapscan = off")
            rows = conn.execute(
                f"EXPLAIN {query}",
                ("00000000-0000-0000-0000-000000000000", None, 50),  # type: ignore[arg-type]
            ).fetchall()
        return " ".join(r[0] for r in rows)
