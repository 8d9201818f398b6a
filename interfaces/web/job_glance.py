"""A job's history at a glance, for its page: the latest finished runs as bars, success
rate and duration percentiles over 7 and 30 days, and the daily duration trend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from markupsafe import Markup

from interfaces.web.common import now, system
from interfaces.web.svg_history import LEGEND, seconds_text, strip_svg, trend_days, trend_svg
from projections.run_stats import MAX_FIGURE_RUNS, HistoryFigures, WindowStats

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
    # When more runs ran in the month than the figures read, that number (the figures are
    # of the latest so many); else 0.
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
    if latest:
        figures = view.history_figures(
            job["id"], now=current, windows=WINDOW_DAYS, trend_days=TREND_DAYS
        )
    else:  # nothing has finished: nothing to sum up
        figures = HistoryFigures([WindowStats(d, 0, 0, None, None) for d in WINDOW_DAYS], [], False)
    first, last = trend_days(current, TREND_DAYS)
    glance = Glance(
        finished=len(latest),
        strip=strip_svg(latest),
        trend=trend_svg(figures.trend, first, last),
        rows=[stats_row(stats) for stats in figures.windows],
        legend=LEGEND,
        capped=MAX_FIGURE_RUNS if figures.capped else 0,
    )
    return {"glance": glance}
