"""The schedule preview shown when a job page first loads (the script refreshes it as you type)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from domain.errors import InvalidInput
from domain.schedule import CronSchedule


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


def preview(cron: str, timezone: str, now: datetime, count: int = 10) -> Preview | None:
    """What a schedule means and when it fires next; None when there is no schedule."""
    if not cron.strip():
        return None
    try:
        schedule = CronSchedule.parse(cron.strip(), timezone.strip() or "UTC")
        instants = schedule.fire_times(now, count)
    except InvalidInput as error:
        return Preview("", [], f"{error.field}: {error.message}")
    except ValueError as error:
        return Preview("", [], str(error))
    zone = ZoneInfo(schedule.timezone)
    times: list[FireTime] = []
    previous = now.astimezone(zone).utcoffset()
    for instant in instants:
        local = instant.astimezone(zone)
        offset = local.utcoffset()
        times.append(
            FireTime(
                at=instant,
                local=local.strftime("%a %Y-%m-%d %H:%M:%S %Z (UTC%z)"),
                offset_changed=offset != previous,
            )
        )
        previous = offset
    return Preview(f"{schedule.describe()} ({schedule.timezone})", times)
