"""A job's run history as inline SVG, drawn by the server: readable without JavaScript,
nothing fetched from elsewhere, colours by class so the dark theme (static/theme.css)
applies to them.

Two charts: a strip of the latest finished runs, one bar per run linking to it, as tall as
the run was long and coloured by its status; and the median duration per day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from markupsafe import Markup

from interfaces.web.render import utc_text
from projections.run_stats import TrendPoint, duration_seconds

# Bar geometry, in SVG user units (CSS pixels when the strip is not scaled down).
BAR_WIDTH = 8
BAR_GAP = 3
STRIP_HEIGHT = 64
MIN_BAR = 2  # a run of no measurable length, or one that never started, still shows

TREND_WIDTH = 320
TREND_HEIGHT = 96
TREND_PAD = 14  # room for the labels above and below the line

# The statuses a bar's colour names: green, red, amber (the badges' colours).
BAR_CLASSES = {
    "succeeded": "ok",
    "failed": "bad",
    "timed_out": "bad",
    "abandoned": "bad",
    "cancelled": "other",
    "skipped": "other",
}
LEGEND = (
    ("ok", "succeeded"),
    ("bad", "failed, timed out or abandoned"),
    ("other", "cancelled or skipped"),
)


def seconds_text(seconds: float | None) -> str:
    """A duration as the pages say it: "0.4 s", "3 min 5 s", "1 h 2 min 5 s"."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min {rest} s" if hours else f"{minutes} min {rest} s"


def status_words(status: str) -> str:
    return status.replace("_", " ")


def bar_title(run: dict[str, Any]) -> str:
    """What a bar says when pointed at or read out: status, start and duration."""
    if run["started_at"] is None:
        return (
            f"{status_words(run['status'])}, never started (ended {utc_text(run['finished_at'])})"
        )
    seconds = seconds_text(duration_seconds(run))
    return f"{status_words(run['status'])}, started {utc_text(run['started_at'])}, took {seconds}"


def strip_svg(runs: Sequence[dict[str, Any]], ident: str = "history-strip") -> Markup:
    """One bar per run (newest first in `runs`, drawn oldest on the left), each a link to
    its run; an empty Markup for no runs."""
    if not runs:
        return Markup("")
    ordered = list(reversed(runs))
    longest = max((duration_seconds(run) or 0.0) for run in ordered)
    width = len(ordered) * (BAR_WIDTH + BAR_GAP) - BAR_GAP
    parts = [
        Markup(
            '<svg xmlns="http://www.w3.org/2000/svg" class="history-strip" id="{0}" role="group"'
            ' aria-labelledby="{0}-title" aria-describedby="{0}-desc"'
            ' viewBox="0 0 {1} {2}" width="{1}" height="{2}">'
        ).format(ident, width, STRIP_HEIGHT),
        Markup('<title id="{}-title">{}</title>').format(
            ident, f"The last {len(ordered)} finished runs"
        ),
        Markup('<desc id="{}-desc">{}</desc>').format(ident, strip_description(ordered, longest)),
    ]
    for i, run in enumerate(ordered):
        seconds = duration_seconds(run) or 0.0
        height = max(MIN_BAR, round(seconds / longest * STRIP_HEIGHT)) if longest else MIN_BAR
        x = i * (BAR_WIDTH + BAR_GAP)
        kind = BAR_CLASSES.get(run["status"], "other")
        # The transparent column is what a pointer hits: a short bar is still easy to click.
        parts.append(
            Markup(
                '<a href="/runs/{id}" class="bar-link" data-status="{status}">'
                "<title>{title}</title>"
                '<rect class="hit" x="{x}" y="0" width="{w}" height="{h}" fill="none"'
                ' pointer-events="all"/>'
                '<rect class="bar bar-{kind}" x="{x}" y="{y}" width="{w}" height="{bar}"/></a>'
            ).format(
                id=run["id"],
                status=run["status"],
                title=bar_title(run),
                x=x,
                y=STRIP_HEIGHT - height,
                w=BAR_WIDTH,
                h=STRIP_HEIGHT,
                kind=kind,
                bar=height,
            )
        )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def strip_description(ordered: Sequence[dict[str, Any]], longest: float) -> str:
    counts: dict[str, int] = {}
    for run in ordered:
        counts[run["status"]] = counts.get(run["status"], 0) + 1
    tally = ", ".join(f"{n} {status_words(status)}" for status, n in sorted(counts.items()))
    return (
        f"Oldest on the left, newest on the right. Each bar's height is how long the run took"
        f" (the tallest {seconds_text(longest)}); its colour is its status: {tally}."
    )


def trend_svg(
    points: Sequence[TrendPoint], first: date, last: date, ident: str = "trend"
) -> Markup:
    """The median duration per day from `first` to `last` as a line with a dot per day that
    had runs; an empty Markup for no points."""
    if not points:
        return Markup("")
    span = max(1, (last - first).days)
    top = max(point.median_seconds for point in points)
    plot = TREND_HEIGHT - 2 * TREND_PAD

    def xy(point: TrendPoint) -> tuple[float, float]:
        x = 4 + (TREND_WIDTH - 8) * (point.day - first).days / span
        y = TREND_PAD + plot - (point.median_seconds / top * plot if top else 0)
        return round(x, 1), round(y, 1)

    coords = [xy(point) for point in points]
    line = " ".join(f"{x},{y}" for x, y in coords)
    parts = [
        Markup(
            '<svg xmlns="http://www.w3.org/2000/svg" class="history-trend" id="{0}" role="img"'
            ' aria-labelledby="{0}-title" aria-describedby="{0}-desc"'
            ' viewBox="0 0 {1} {2}" width="{1}" height="{2}">'
        ).format(ident, TREND_WIDTH, TREND_HEIGHT),
        Markup('<title id="{}-title">{}</title>').format(ident, "Median run duration per day"),
        Markup('<desc id="{}-desc">{}</desc>').format(
            ident, trend_description(points, first, last)
        ),
        Markup('<line class="axis" x1="0" y1="{0}" x2="{1}" y2="{0}"/>').format(
            TREND_PAD + plot, TREND_WIDTH
        ),
    ]
    if len(coords) > 1:
        parts.append(Markup('<polyline class="trend-line" points="{}"/>').format(line))
    parts += [
        Markup('<circle class="trend-dot" cx="{}" cy="{}" r="2.5"/>').format(x, y)
        for x, y in coords
    ]
    parts += [
        Markup('<text class="chart-label" x="2" y="10">{}</text>').format(seconds_text(top)),
        Markup('<text class="chart-label" x="2" y="{}">{}</text>').format(
            TREND_HEIGHT - 2, first.isoformat()
        ),
        Markup('<text class="chart-label" x="{}" y="{}" text-anchor="end">{}</text>').format(
            TREND_WIDTH - 2, TREND_HEIGHT - 2, last.isoformat()
        ),
        Markup("</svg>"),
    ]
    return Markup("").join(parts)


def trend_description(points: Sequence[TrendPoint], first: date, last: date) -> str:
    lowest = min(points, key=lambda p: p.median_seconds)
    highest = max(points, key=lambda p: p.median_seconds)
    days = "1 day" if len(points) == 1 else f"{len(points)} days"
    return (
        f"From {first.isoformat()} to {last.isoformat()} (UTC days), runs finished on {days}."
        f" Daily median from {seconds_text(lowest.median_seconds)} ({lowest.day.isoformat()})"
        f" to {seconds_text(highest.median_seconds)} ({highest.day.isoformat()});"
        f" latest {seconds_text(points[-1].median_seconds)} ({points[-1].day.isoformat()})."
    )


def trend_days(now: datetime, days: int) -> tuple[date, date]:
    """The first and last UTC day a trend over `days` days covers, today included."""
    today = now.astimezone(UTC).date()
    return today - timedelta(days=days - 1), today
