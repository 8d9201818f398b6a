"""Runs per hour by status as an inline SVG bar chart drawn by the server: no script, no
external file. Each bar has a <title> (a tooltip, and what a screen reader reads), and the
page shows the same counts in a table beside it for anyone the drawing does not serve."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from markupsafe import Markup, escape

from projections.runs import STATUSES

WIDTH, HEIGHT = 720, 160
TOP, BOTTOM, LEFT = 8, 22, 34  # room for the bars' labels and the axis
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
# Colours as presentation attributes (allowed by the pages' CSP, unlike inline styles), so
# the chart reads the same whether or not a stylesheet loads.
COLOURS = {
    "queued": "#9aa5b1",
    "running": "#2f6fde",
    "succeeded": "#2e8540",
    "failed": "#c62828",
    "timed_out": "#e65100",
    "cancelled": "#6d4c41",
    "skipped": "#b59f00",
    "abandoned": "#7b1fa2",
}


@dataclass
class Bar:
    """One hour's runs by status."""

    start: datetime
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def words(self) -> str:
        """ "2026-11-30 14:00 UTC: 12 runs (10 succeeded, 2 failed)"."""
        parts = [f"{n} {status.replace('_', ' ')}" for status, n in self.by_status()]
        total = self.total
        runs = f"{total} run{'' if total == 1 else 's'}"
        return f"{self.start:%Y-%m-%d %H:00} UTC: {runs}" + (
            f" ({', '.join(parts)})" if parts else ""
        )

    def by_status(self) -> list[tuple[str, int]]:
        return [(status, self.counts[status]) for status in STATUSES if self.counts.get(status)]


def hourly_bars(
    counted: Iterable[tuple[datetime, str, int]], end: datetime, hours: int
) -> list[Bar]:
    """One bar per UTC hour of the `hours` up to and including the one `end` is in, oldest
    first, filled from `counted` ([(hour, status, count)]); hours with no run are empty."""
    last = end.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first = last - timedelta(hours=hours - 1)
    bars = {first + timedelta(hours=i): Bar(first + timedelta(hours=i)) for i in range(hours)}
    for hour, status, count in counted:
        bar = bars.get(hour.astimezone(UTC))
        if bar is not None:
            bar.counts[status] = bar.counts.get(status, 0) + count
    return list(bars.values())


def _nice_top(peak: int) -> int:
    """The y axis's top: the peak rounded up to 1, 2 or 5 times a power of ten."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= peak:
                return step * magnitude
        magnitude *= 10


def _label(bar: Bar, index: int, span: int) -> str:
    """An x-axis label for some bars: every 6th hour over a day, each midnight over a week."""
    if span <= 48:
        return f"{bar.start:%H}:00" if index % 6 == 0 else ""
    return f"{bar.start:%a %d}" if bar.start.hour == 0 else ""


def bar_chart(bars: list[Bar], title: str, chart_id: str) -> Markup:
    """The bars as an accessible SVG: role img, labelled by its title; one <g> per bar with a
    <title>, one <rect> per status (class "s-<status>", coloured by the stylesheet)."""
    peak = max((bar.total for bar in bars), default=0)
    top = _nice_top(max(peak, 1))
    slot = (WIDTH - LEFT) / max(len(bars), 1)
    gap = 1 if slot > 3 else 0
    # Plain strings, escaped where text comes in (ids, titles): a chart of a week has 168
    # bars, and Markup.format per element cost more than the rest of the dashboard.
    ident = escape(chart_id)
    base = TOP + PLOT_HEIGHT
    out = [
        f'<svg class="bar-chart" id="{ident}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f' aria-labelledby="{ident}-title"><title id="{ident}-title">{escape(title)}</title>'
        f'<text class="axis" x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">{top}</text>'
        f'<text class="axis" x="{LEFT - 4}" y="{base}" text-anchor="end">0</text>'
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH}" y1="{base}" y2="{base}"/>'
    ]
    width = max(slot - gap, 0.5)
    for index, bar in enumerate(bars):
        x = LEFT + index * slot
        # An invisible full-height rect: the hour's tooltip shows wherever the pointer is.
        out.append(
            f'<g class="bar" data-hour="{bar.start.isoformat()}"><title>{escape(bar.words())}'
            f'</title><rect class="hit" x="{x:.2f}" y="{TOP}" width="{slot:.2f}"'
            f' height="{PLOT_HEIGHT}" fill-opacity="0"/>'
        )
        y = float(base)
        for status, count in bar.by_status():
            height = PLOT_HEIGHT * count / top
            y -= height
            out.append(
                f'<rect class="s-{escape(status)}" fill="{COLOURS.get(status, "#555")}"'
                f' x="{x + gap / 2:.2f}" y="{y:.2f}" width="{width:.2f}" height="{height:.2f}"/>'
            )
        out.append("</g>")
        label = _label(bar, index, len(bars))
        if label:
            out.append(f'<text class="axis" x="{x:.2f}" y="{HEIGHT - 6}">{label}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def legend() -> Markup:
    """The statuses' colours, as a list a screen reader reads too."""
    items = (
        Markup(
            '<li><svg class="swatch" width="12" height="12" aria-hidden="true">'
            '<rect width="12" height="12" fill="{0}"/></svg>{1}</li>'
        ).format(COLOURS.get(status, "#555"), escape(status.replace("_", " ")))
        for status in STATUSES
    )
    return Markup('<ul class="chart-legend">{}</ul>').format(Markup("").join(items))
