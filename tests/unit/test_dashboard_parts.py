"""The dashboard's parts that need no page: hourly bars, the chart's axis, and next fire
times remembered until they pass."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from interfaces.web.dashboard_data import elapsed_words
from interfaces.web.svg_bars import Bar, _nice_top, bar_chart, hourly_bars
from projections.next_fires import NextFires

NOW = datetime(2026, 11, 30, 14, 20, tzinfo=UTC)
HOUR = datetime(2026, 11, 30, 14, tzinfo=UTC)


def test_hourly_bars_cover_every_hour_up_to_the_current_one_oldest_first() -> None:
    counted = [
        (HOUR - timedelta(hours=1), "succeeded", 3),
        (HOUR - timedelta(hours=1), "failed", 1),
        (HOUR, "running", 2),
        (HOUR - timedelta(hours=30), "succeeded", 9),  # before the window: left out
    ]
    bars = hourly_bars(counted, NOW, 24)
    assert [bar.start for bar in bars] == [HOUR - timedelta(hours=23 - i) for i in range(24)]
    assert bars[-1].counts == {"running": 2} and bars[-2].total == 4
    assert sum(bar.total for bar in bars) == 6
    assert bars[-2].words() == "2026-11-30 13:00 UTC: 4 runs (3 succeeded, 1 failed)"
    assert Bar(HOUR, {"timed_out": 1}).words() == "2026-11-30 14:00 UTC: 1 run (1 timed out)"


def test_the_axis_top_is_a_round_number_at_or_above_the_peak() -> None:
    assert [_nice_top(n) for n in (1, 2, 3, 7, 10, 11, 40, 51, 999)] == [
        1,
        2,
        5,
        10,
        10,
        20,
        50,
        100,
        1000,
    ]


def test_bars_are_drawn_to_scale_and_escaped() -> None:
    bars = [Bar(HOUR, {"succeeded": 5, "failed": 5}), Bar(HOUR + timedelta(hours=1))]
    svg = str(bar_chart(bars, "Runs <per> hour", "c"))
    assert '<title id="c-title">Runs &lt;per&gt; hour</title>' in svg
    heights = [float(h) for h in re.findall(r'class="s-\w+"[^>]* height="([\d.]+)"', svg)]
    assert heights == [65.0, 65.0]  # half the plot each: the axis top is 10


def test_next_fires_are_remembered_until_they_pass() -> None:
    fires = NextFires()
    schedules = [
        ("0 0 1 1 *", "UTC", 4),
        ("30 * * * *", "UTC", 2),
        ("25 * * * *", "Asia/Kolkata", 1),  # :25 in UTC+05:30 is :55 in UTC
        ("not cron", "UTC", 9),
    ]
    due = fires.due(schedules, NOW, timedelta(hours=1))
    assert due == [
        ("30 * * * *", "UTC", HOUR + timedelta(minutes=30), 2),
        ("25 * * * *", "Asia/Kolkata", HOUR + timedelta(minutes=55), 1),
    ]
    later = NOW + timedelta(minutes=15)  # past 14:30: the remembered fire time is stale
    assert fires.next_fire("30 * * * *", "UTC", later) == HOUR + timedelta(hours=1, minutes=30)
    assert fires.next_fire("30 * * * *", "UTC", NOW) == HOUR + timedelta(minutes=30)


def test_elapsed_time_in_words() -> None:
    assert [elapsed_words(s) for s in (0, 42, 185, 7625)] == [
        "0 s",
        "42 s",
        "3 min 05 s",
        "2 h 07 min 05 s",
    ]
