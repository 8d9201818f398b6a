"""The schedule preview the API and the pages share: fire times with daylight-saving marks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.schedule import CronSchedule
from domain.schedule_preview import offset_text, preview_schedule


def test_the_preview_marks_the_clocks_going_back() -> None:
    schedule = CronSchedule.parse("30 1 * * *", "Europe/London")
    shown = preview_schedule(schedule, datetime(2026, 10, 23, 12, tzinfo=UTC), 4)
    assert shown.description == "at 01:30 every day"
    times = shown.fire_times
    assert [t.offset_text for t in times] == ["+01:00", "+01:00", "+00:00", "+00:00"]
    assert [t.dst_change for t in times] == [False, False, True, False]
    # 01:30 happens twice on the 25th: it fires once, at the first (BST) occurrence.
    assert times[1].at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert times[1].local.isoformat() == "2026-10-25T01:30:00+01:00"


def test_the_preview_marks_the_fire_time_after_the_clocks_go_forward() -> None:
    schedule = CronSchedule.parse("30 1 * * *", "Europe/London")
    shown = preview_schedule(schedule, datetime(2026, 3, 27, 12, tzinfo=UTC), 10)
    assert len(shown.fire_times) == 10
    marked = [t for t in shown.fire_times if t.dst_change]
    # 01:30 on 29 March does not exist in London: it fires at 02:00 BST, the first BST one.
    assert [t.at for t in marked] == [datetime(2026, 3, 29, 1, 0, tzinfo=UTC)]
    assert marked[0].local.isoformat() == "2026-03-29T02:00:00+01:00"
    assert marked[0].offset == timedelta(hours=1)


def test_the_first_fire_time_is_compared_with_the_start() -> None:
    # From inside BST, the first fire time after the clocks went back is already marked.
    schedule = CronSchedule.parse("0 12 * * *", "Europe/London")
    shown = preview_schedule(schedule, datetime(2026, 10, 24, 12, tzinfo=UTC), 2)
    assert [t.dst_change for t in shown.fire_times] == [True, False]


def test_a_preview_from_the_last_representable_instant_is_empty_not_an_error() -> None:
    # Late on 9999-12-31 UTC is already year 10000 in Kiritimati (UTC+14).
    schedule = CronSchedule.parse("0 0 * * *", "Pacific/Kiritimati")
    last = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    assert preview_schedule(schedule, last, 3).fire_times == []


def test_offsets_are_written_as_rfc_3339_does() -> None:
    assert offset_text(timedelta(hours=-3, minutes=-30)) == "-03:30"
    assert offset_text(timedelta(hours=5, minutes=45)) == "+05:45"
    assert offset_text(timedelta(0)) == "+00:00"
    assert offset_text(timedelta(minutes=-75, seconds=-14)) == "-01:15:14"
