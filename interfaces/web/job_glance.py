"""A job's history at a glance, for its page: the latest finished runs as bars, success
rate and duration percentiles over 7 and 30 days, and the daily duration trend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import Request
from markupsafe import Markup

from interfaces.web.common import now, system
from interfaces.web.svg_history import LEGEND, seconds_text, strip_svg, trend_days, trend_svg
from projections.run_stats import WindowStats, daily_trend, window_stats
from projections.runs import MAX_FINISHED_RUNS

STRIP_RUNS = 50
WINDOW_DAYS = (7, 30)
TREND_DAYS = 30


@dataclass(frozen=True)
class StatsRow:
    """One line of the summary table, in words."""

    days: int
    ran: int
    succeeded: int
    rate: str
    median: str
    p95: str


@dataclass(frozen=True)
class Glance:
    """What the glance partial shows; `strip` and `trend` are SVG markup."""

    finished: int  # bars in the strip
    strip: Markup
    trend: Markup
    rows: list[StatsRow]
    legend: tuple[tuple[str, str], ...]
    # When the month held more finished runs than one read returns, that number (the
    # figures are of the latest so many); else 0.
    capped: int


def stats_row(stats: WindowStats) -> StatsRow:
    rate = stats.success_rate
    return StatsRow(
        days=stats.days,
        ran=stats.ran,
        succeeded=stats.succeeded,
        rate="—" if rate is None else f"{rate:.0%}",
        median=seconds_text(stats.median_seconds),
        p95=seconds_text(stats.p95_seconds),
    )


def glance_context(request: Request, job: dict[str, Any]) -> dict[str, Any]:
    """The `glance` the job page's partial (job_history_glance.html) reads."""
    view = system(request).runs
    current = now(request)
    latest = view.finished_runs(job["id"], limit=STRIP_RUNS)
    month: list[dict[str, Any]] = []
    if latest and latest[0]["finished_at"] >= current - timedelta(days=max(WINDOW_DAYS)):
        month = view.finished_runs(
            job["id"], since=current - timedelta(days=max(WINDOW_DAYS)), limit=MAX_FINISHED_RUNS
        )
    first, last = trend_days(current, TREND_DAYS)
    glance = Glance(
        finished=len(latest),
        strip=strip_svg(latest),
        trend=trend_svg(daily_trend(month, current, TREND_DAYS), first, last),
        rows=[stats_row(window_stats(month, current, days)) for days in WINDOW_DAYS],
        legend=LEGEND,
        capped=MAX_FINISHED_RUNS if len(month) == MAX_FINISHED_RUNS else 0,
    )
    return {"glance": glance}
