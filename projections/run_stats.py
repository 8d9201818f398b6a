"""A job's run history summed up: success rate, median and p95 duration, a daily trend.

Pure functions over the rows `RunsView.finished_runs` returns, so the job page's numbers
and charts are tested without a store. Only runs that started have a duration and count
towards the rate: a run skipped or cancelled while queued never ran, so it neither
succeeded nor failed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from domain.run_status import RunStatus


def duration_seconds(run: dict[str, Any]) -> float | None:
    """How long a finished run ran, or None if it never started."""
    started, finished = run.get("started_at"), run.get("finished_at")
    if started is None or finished is None:
        return None
    return max(0.0, (finished - started).total_seconds())


def percentile(ordered: Sequence[float], fraction: float) -> float | None:
    """The `fraction` percentile of ascending values, interpolated between the two nearest
    ranks as PostgreSQL's percentile_cont does; None for no values."""
    if not ordered:
        return None
    rank = (len(ordered) - 1) * fraction
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class WindowStats:
    """The runs that finished in the last `days` days."""

    days: int
    ran: int  # finished runs that had started
    succeeded: int
    median_seconds: float | None
    p95_seconds: float | None

    @property
    def success_rate(self) -> float | None:
        """Succeeded / ran, between 0 and 1; None when nothing ran."""
        return self.succeeded / self.ran if self.ran else None


def window_stats(runs: Iterable[dict[str, Any]], now: datetime, days: int) -> WindowStats:
    """Success rate and duration percentiles of the runs finished in [now - days, now]."""
    since = now - timedelta(days=days)
    durations: list[float] = []
    succeeded = 0
    for run in runs:
        seconds = duration_seconds(run)
        if seconds is None or not since <= run["finished_at"] <= now:
            continue
        durations.append(seconds)
        succeeded += run["status"] == RunStatus.SUCCEEDED
    durations.sort()
    return WindowStats(
        days=days,
        ran=len(durations),
        succeeded=succeeded,
        median_seconds=percentile(durations, 0.5),
        p95_seconds=percentile(durations, 0.95),
    )


@dataclass(frozen=True)
class TrendPoint:
    """One UTC day's runs: how many ran, and their median duration."""

    day: date
    runs: int
    median_seconds: float


def daily_trend(runs: Iterable[dict[str, Any]], now: datetime, days: int) -> list[TrendPoint]:
    """The median duration per UTC day over the last `days` days (today included), oldest
    day first; days without a run that started are left out, not shown as zero."""
    first = (now.astimezone(UTC) - timedelta(days=days - 1)).date()
    by_day: dict[date, list[float]] = defaultdict(list)
    for run in runs:
        seconds = duration_seconds(run)
        day = run["finished_at"].astimezone(UTC).date()
        if seconds is not None and first <= day and run["finished_at"] <= now:
            by_day[day].append(seconds)
    points = []
    for day in sorted(by_day):
        durations = sorted(by_day[day])
        median = percentile(durations, 0.5)
        assert median is not None  # a day is there because it has a duration
        points.append(TrendPoint(day=day, runs=len(durations), median_seconds=median))
    return points


@dataclass(frozen=True)
class HistoryFigures:
    """What the job page says of a job's recent runs: one `WindowStats` per window, shortest
    first, and the daily trend; `capped` when more runs ran than one read takes, so the
    figures are of the latest `MAX_FIGURE_RUNS` of them."""

    windows: list[WindowStats]
    trend: list[TrendPoint]
    capped: bool


# The most runs the figures read: a month of a job run every five minutes is 8,640, so the
# figures of all but the busiest jobs are exact, and none costs more than this many rows.
MAX_FIGURE_RUNS = 10_000


def figures_since(now: datetime, windows: Sequence[int], trend_days: int) -> datetime:
    """The earliest finish any of the figures looks at: the longest window's start, or the
    first trend day's midnight (UTC) if that is earlier."""
    return min(now - timedelta(days=max(windows)), trend_start(now, trend_days))


def trend_start(now: datetime, trend_days: int) -> datetime:
    """Midnight (UTC) of the first day a trend over `trend_days` days shows, today included."""
    first = (now.astimezone(UTC) - timedelta(days=trend_days - 1)).date()
    return datetime(first.year, first.month, first.day, tzinfo=UTC)


def figures_of(
    runs: Sequence[dict[str, Any]],
    now: datetime,
    windows: Sequence[int],
    trend_days: int,
    most: int = MAX_FIGURE_RUNS,
) -> HistoryFigures:
    """The figures of `runs`: the runs that started and finished since `figures_since`, at
    most `most` of them, latest first (what a store reads for them)."""
    return HistoryFigures(
        windows=[window_stats(runs, now, days) for days in sorted(windows)],
        trend=daily_trend(runs, now, trend_days),
        capped=len(runs) >= most,
    )
