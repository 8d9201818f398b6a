"""The job page's history charts: server-drawn SVG that names every bar's run, status, start
and duration, escapes what it shows, needs no inline style, and says it all in words too."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4
from xml.etree import ElementTree

from interfaces.web.job_glance import STRIP_RUNS, glance_context
from interfaces.web.render import ENV
from interfaces.web.svg_history import (
    MIN_BAR,
    STRIP_HEIGHT,
    seconds_text,
    strip_svg,
    trend_days,
    trend_svg,
)
from projections.run_stats import HistoryFigures, TrendPoint, figures_of

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


def finished(status: str, seconds: float | None, ago: timedelta) -> dict[str, Any]:
    end = NOW - ago
    start = None if seconds is None else end - timedelta(seconds=seconds)
    return {"id": uuid4(), "status": status, "started_at": start, "finished_at": end}


# Newest first, as RunsView.finished_runs gives them.
RUNS = [
    finished("failed", 5.0, timedelta(minutes=1)),
    finished("skipped", None, timedelta(minutes=2)),
    finished("succeeded", 20.0, timedelta(minutes=3)),
    finished("succeeded", 10.0, timedelta(days=2)),
]


def parse(markup: str) -> ElementTree.Element:
    return ElementTree.fromstring(markup)  # well-formed XML, or this raises


def test_each_bar_links_to_its_run_oldest_left_as_tall_as_it_was_long() -> None:
    svg = parse(strip_svg(RUNS))
    assert svg.get("role") == "group"  # not "img": an image's children (the links) are hidden
    title_id, desc_id = svg.get("aria-labelledby"), svg.get("aria-describedby")
    assert svg.find(f"{SVG}title").get("id") == title_id  # type: ignore[union-attr]
    assert svg.find(f"{SVG}title").text == "The last 4 finished runs"  # type: ignore[union-attr]
    desc = svg.find(f"{SVG}desc")
    assert desc is not None and desc.get("id") == desc_id
    assert "tallest 20.0 s" in (desc.text or "") and "1 failed, 1 skipped, 2 succeeded" in (
        desc.text or ""
    )
    links = svg.findall(f"{SVG}a")
    assert [link.get("href") for link in links] == [f"/runs/{run['id']}" for run in RUNS[::-1]]
    titles = [link.findtext(f"{SVG}title") or "" for link in links]
    assert titles[0] == "succeeded, started 2026-11-28 11:59:50 UTC, took 10.0 s"
    assert titles[2].startswith("skipped, never started (ended 2026-11-30 11:58:00 UTC")
    assert titles[3] == "failed, started 2026-11-30 11:58:55 UTC, took 5.0 s"
    bars = [link.findall(f"{SVG}rect")[1] for link in links]
    heights = [int(bar.get("height") or 0) for bar in bars]
    assert heights == [STRIP_HEIGHT // 2, STRIP_HEIGHT, MIN_BAR, STRIP_HEIGHT // 4]
    assert [bar.get("class") for bar in bars] == [
        "bar bar-ok",
        "bar bar-ok",
        "bar bar-other",
        "bar bar-bad",
    ]
    for bar, height in zip(bars, heights, strict=True):
        assert int(bar.get("y") or 0) + height == STRIP_HEIGHT  # standing on the baseline


def test_charts_need_no_inline_style_and_escape_what_they_show() -> None:
    odd = {**RUNS[0], "status": '<script>"x"</script>'}
    markup = str(strip_svg([odd])) + str(
        trend_svg([TrendPoint(date(2026, 11, 30), 1, 2.0)], date(2026, 11, 1), date(2026, 11, 30))
    )
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    assert not re.search(r"\sstyle=", markup)
    assert "<style" not in markup


def test_no_runs_draw_no_chart() -> None:
    assert str(strip_svg([])) == ""
    assert str(trend_svg([], date(2026, 11, 1), date(2026, 11, 30))) == ""


def test_the_trend_is_an_image_described_in_words_with_a_dot_per_day() -> None:
    first, last = trend_days(NOW, 30)
    assert (first, last) == (date(2026, 11, 1), date(2026, 11, 30))
    points = [
        TrendPoint(date(2026, 11, 1), 2, 4.0),
        TrendPoint(date(2026, 11, 15), 1, 8.0),
        TrendPoint(date(2026, 11, 30), 5, 2.0),
    ]
    svg = parse(trend_svg(points, first, last))
    assert svg.get("role") == "img"
    named_by = [svg.get("aria-labelledby"), svg.get("aria-describedby")]
    assert [svg.find(f"{SVG}title").get("id"), svg.find(f"{SVG}desc").get("id")] == named_by  # type: ignore[union-attr]
    desc = svg.find(f"{SVG}desc").text or ""  # type: ignore[union-attr]
    assert "from 2.0 s (2026-11-30) to 8.0 s (2026-11-15)" in desc
    dots = svg.findall(f"{SVG}circle")
    xs = [float(dot.get("cx") or 0) for dot in dots]
    ys = [float(dot.get("cy") or 0) for dot in dots]
    assert xs == sorted(xs) and xs[0] < 10 and xs[-1] > 300
    assert ys[1] < ys[0] < ys[2]  # 8 s highest, 2 s lowest
    assert svg.find(f"{SVG}polyline") is not None


def test_durations_read_as_people_say_them() -> None:
    assert [seconds_text(s) for s in (None, 0.04, 59.94, 65, 3725)] == [
        "—",
        "0.0 s",
        "59.9 s",
        "1 min 5 s",
        "1 h 2 min 5 s",
    ]


class FinishedRuns:
    """A runs view holding one job's finished runs (newest first); records each read."""

    def __init__(self, runs: list[dict[str, Any]], most: int = 10) -> None:
        self.runs = runs
        self.most = most
        self.reads: list[dict[str, Any]] = []

    def finished_runs(
        self, job_id: UUID, *, since: datetime | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        self.reads.append({"since": since, "limit": limit})
        kept = [r for r in self.runs if since is None or r["finished_at"] >= since]
        return kept[:limit]

    def history_figures(
        self, job_id: UUID, *, now: datetime, windows: Sequence[int], trend_days: int
    ) -> HistoryFigures:
        self.reads.append({"now": now, "windows": windows, "trend_days": trend_days})
        ran = [r for r in self.runs if r["started_at"] is not None]
        return figures_of(ran, now, windows, trend_days, most=self.most)


def glance_html(view: FinishedRuns) -> str:
    request = SimpleNamespace(
        app=SimpleNamespace(
            state=SimpleNamespace(
                system=SimpleNamespace(runs=view), clock=SimpleNamespace(now=lambda: NOW)
            )
        )
    )
    context = glance_context(request, {"id": uuid4()})  # type: ignore[arg-type]
    return ENV.get_template("job_history_glance.html").render(**context)


def test_the_glance_says_rate_median_and_p95_per_period_beside_the_charts() -> None:
    view = FinishedRuns(RUNS)
    html = glance_html(view)
    assert view.reads == [
        {"since": None, "limit": STRIP_RUNS},
        {"now": NOW, "windows": (7, 30), "trend_days": 30},
    ]
    assert 'class="history-strip"' in html and 'class="history-trend"' in html
    rows = re.findall(r'<tr data-days="(\d+)">(.*?)</tr>', html, re.S)
    text = {days: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for days, row in rows}
    # 7 days: 5, 20, 10 s ran (the skipped run did not); 2 of 3 succeeded.
    assert text["7"] == "Last 7 days 3 67% (2 of 3) 10.0 s 19.0 s"
    assert text["30"] == text["7"].replace("7 days", "30 days")
    assert "Only the latest" not in html


def test_a_job_with_no_finished_run_says_so_and_reads_nothing_more() -> None:
    view = FinishedRuns([])
    html = glance_html(view)
    assert "No run of this job has finished yet." in html and "<svg" not in html
    assert len(view.reads) == 1


def test_a_job_whose_last_run_is_older_than_a_month_shows_bars_but_no_month() -> None:
    html = glance_html(FinishedRuns([finished("succeeded", 3.0, timedelta(days=40))]))
    assert 'class="history-strip"' in html and 'class="history-trend"' not in html
    assert re.search(r'<tr data-days="30">.*?<td>0</td>', html, re.S)


def test_figures_of_more_runs_than_are_read_say_how_many_they_count() -> None:
    html = glance_html(FinishedRuns(RUNS, most=3))
    assert "Only the latest 10,000 finished runs are counted." in html
