"""The schedule preview shown when a job page first loads (the script refreshes it as you type).

The fire times and their daylight-saving marks come from domain.schedule_preview, the same
function the API's /api/schedules/preview uses; this module only words them for the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.errors import InvalidInput
from domain.schedule import CronSchedule
from domain.schedule_preview import preview_schedule


@dataclass(frozen=True)
class FireTime:
    at: datetime  # UTC
    local: str  # wall time in the schedule's zone, with its offset
    offset_changed: bool  # the zone's UTC offset differs from the previous fire time's


@dataclass(frozen=True)
class Preview:
    description: str
    fire_times: list[FireTime]
    error: str = ""
    timezone: str = "UTC"  # the page shows the fire times in the schedule's own zone


def preview(cron: str, timezone: str, now: datetime, count: int = 10) -> Preview | None:
    """What a schedule means and when it fires next; None when there is no schedule."""
    if not cron.strip():
        return None
    try:
        schedule = CronSchedule.parse(cron.strip(), timezone.strip() or "UTC")
    except InvalidInput as error:
        return Preview("", [], str(error))  # each field at fault: "schedule.cron: ...; ..."
    except ValueError as error:
        return Preview("", [], str(error))
    shown = preview_schedule(schedule, now, count)
    times = [
        FireTime(
            at=time.at,
            local=time.local.strftime("%a %Y-%m-%d %H:%M:%S %Z (UTC%z)"),
            offset_changed=time.dst_change,
        )
        for time in shown.fire_times
    ]
    return Preview(f"{shown.description} ({schedule.timezone})", times, timezone=schedule.timezone)
