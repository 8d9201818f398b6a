"""A schedule previewed before it is saved: its description and next fire times, with
daylight-saving changes marked.

The API's /api/schedules/preview and the job pages both show this; it lives here once so
the two cannot disagree about which fire time a clock change lies before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from domain.schedule import CronSchedule


@dataclass(frozen=True)
class PreviewFireTime:
    at: datetime  # the instant, in UTC
    local: datetime  # the same instant in the schedule's zone
    offset: timedelta  # the zone's UTC offset then
    dst_change: bool  # the offset differs from the previous fire time's (or `after`'s)

    @property
    def offset_text(self) -> str:
        return offset_text(self.offset)


@dataclass(frozen=True)
class SchedulePreview:
    description: str
    fire_times: list[PreviewFireTime]


def preview_schedule(schedule: CronSchedule, after: datetime, count: int) -> SchedulePreview:
    """The schedule in words and its next `count` fire times strictly after aware `after`.

    A fire time is marked when its UTC offset differs from the previous one's (for the first,
    from `after`'s): a daylight-saving change lies between. A schedule that runs past the
    last representable year gives fewer times, not an error.
    """
    zone = ZoneInfo(schedule.timezone)
    times: list[PreviewFireTime] = []
    try:
        previous = after.astimezone(zone).utcoffset()  # overflows at the end of year 9999
        for at in islice(schedule.iter_fire_times(after), count):
            local = at.astimezone(zone)
            offset = local.utcoffset() or timedelta(0)
            times.append(PreviewFireTime(at, local, offset, offset != previous))
            previous = offset
    except (OverflowError, ValueError):
        pass  # past datetime's last year: the times found so far are all there are
    return SchedulePreview(schedule.describe(), times)


def offset_text(offset: timedelta) -> str:
    """A UTC offset as RFC 3339 writes it: +01:00, -03:30 (seconds only when there are any)."""
    seconds = int(offset.total_seconds())
    sign = "+" if seconds >= 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return text + (f":{seconds:02d}" if seconds else "")
