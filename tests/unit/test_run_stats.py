"""The job page's history figures: success rate, median and p95 duration, daily trend."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from projections.run_stats import daily_trend, duration_seconds, percentile, window_stats

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def finished(
    status: str, seconds: float | None, ago: timedelta = timedelta(hours=1)
) -> dict[str, Any]:
    """A row as RunsView.finished_runs gives it; `seconds` None: it never started."""
    end = NOW - ago
    start = None if seconds is None else end - timedelta(seconds=seconds)
    return {"id": uuid4(), "status": status, "started_at": start, "finished_at": end}


def test_percentiles_interpolate_between_ranks_as_postgresql_does() -> None:
    assert percentile([], 0.5) is None
    assert percentile([4.0], 0.95) == 4.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    # percentile_cont(0.95) of 1..20: rank 18.05 -> 19 + 0.05 * (20 - 19)
    assert percentile([float(n) for n in range(1, 21)], 0.95) == pytest.approx(19.05)
    assert percentile([1.0, 10.0], 0.0) == 1.0 and percentile([1.0, 10.0], 1.0) == 10.0


def test_a_run_that_never_started_has_no_duration() -> None:
    assert duration_seconds(finished("skipped", None)) is None
    assert duration_seconds(finished("succeeded", 2.5)) == 2.5


def test_window_counts_the_runs_that_ran_in_it_and_their_durations() -> None:
    runs = [
        finished("succeeded", 1.0),
        finished("succeeded", 3.0, timedelta(days=2)),
        finished("failed", 10.0, timedelta(days=3)),
        finished("timed_out", 60.0, timedelta(days=6, hours=23)),
        finished("skipped", None),  # never ran: neither succeeded nor failed
        finished("cancelled", None, timedelta(days=1)),
        finished("succeeded", 2.0, timedelta(days=8)),  # outside a week, inside a month
        finished("succeeded", 2.0, timedelta(days=31)),  # outside both
    ]
    week = window_stats(runs, NOW, 7)
    assert (week.days, week.ran, week.succeeded) == (7, 4, 2)
    assert week.success_rate == 0.5
    assert week.median_seconds == 6.5  # between 3 and 10
    assert week.p95_seconds == pytest.approx(10.0 + 0.85 * 50.0)  # rank 2.85 of 1, 3, 10, 60
    month = window_stats(runs, NOW, 30)
    assert (month.ran, month.succeeded, month.median_seconds) == (5, 3, 3.0)


def test_an_empty_window_has_no_rate_and_no_durations() -> None:
    stats = window_stats([finished("skipped", None)], NOW, 7)
    assert (stats.ran, stats.success_rate, stats.median_seconds, stats.p95_seconds) == (
        0,
        None,
        None,
        None,
    )


def test_the_trend_is_the_median_per_utc_day_oldest_first_leaving_out_empty_days() -> None:
    runs = [
        finished("succeeded", 4.0, timedelta(hours=1)),  # today
        finished("failed", 2.0, timedelta(hours=2)),  # today
        finished("succeeded", 9.0, timedelta(hours=3)),  # today
        finished("succeeded", 5.0, timedelta(days=3)),
        finished("skipped", None, timedelta(days=4)),  # no duration: no point that day
        finished("succeeded", 7.0, timedelta(days=29)),  # the first day shown
        finished("succeeded", 7.0, timedelta(days=30)),  # a day too early
    ]
    points = daily_trend(runs, NOW, 30)
    assert [(p.day, p.runs, p.median_seconds) for p in points] == [
        (date(2026, 11, 1), 1, 7.0),
        (date(2026, 11, 27), 1, 5.0),
        (date(2026, 11, 30), 3, 4.0),
    ]
    assert daily_trend([], NOW, 30) == []
