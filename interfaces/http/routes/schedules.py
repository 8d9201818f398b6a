"""/api/schedules/preview: a schedule in words and its next fire times, before saving it."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import InvalidInput
from domain.schedule import CronSchedule
from interfaces.http import schemas
from interfaces.http.auth import Viewer
from interfaces.http.inputs import check_text, utc
from interfaces.http.responses import OrjsonResponse
from interfaces.http.state import now

router = APIRouter(prefix="/api/schedules", tags=["schedules"])


def offset_text(offset: timedelta | None) -> str:
    seconds = int((offset or timedelta(0)).total_seconds())
    sign = "+" if seconds >= 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return text + (f":{seconds:02d}" if seconds else "")


def preview(schedule: CronSchedule, after: datetime, count: int) -> list[dict[str, Any]]:
    """The next `count` fire times, each with its local time and UTC offset, marking those
    where the offset differs from the previous one (a daylight-saving change between)."""
    tz = ZoneInfo(schedule.timezone)
    times = []
    try:
        previous = after.astimezone(tz).utcoffset()  # overflows at the end of year 9999
        for at in islice(schedule.iter_fire_times(after), count):
            local = at.astimezone(tz)
            offset = local.utcoffset()
            times.append(
                {
                    "at": at,
                    "local": local,
                    "utc_offset": offset_text(offset),
                    "offset_changed": offset != previous,
                }
            )
            previous = offset
    except (OverflowError, ValueError):
        pass  # the schedule runs past the last representable year: fewer times
    return times


@router.post(
    "/preview",
    response_model=schemas.Preview,
    summary="Describe a schedule and list its next fire times",
    description="`offset_changed` marks a fire time whose UTC offset differs from the one "
    "before it (or from `after`'s, for the first): a daylight-saving change lies between.",
)
def preview_schedule(
    request: Request, body: schemas.PreviewRequest, _principal: Viewer
) -> Response:
    check_text(body.cron, "cron")
    check_text(body.timezone, "timezone")
    after = utc(body.after, "after") or now(request)
    try:
        schedule = CronSchedule.parse(body.cron, body.timezone)
    except InvalidInput as error:
        # The domain names the schedule's fields as part of a job; here they stand alone.
        field = error.field.removeprefix("schedule.")
        raise InvalidInput(field, error.message) from None
    return OrjsonResponse(
        {
            "cron": schedule.cron,
            "timezone": schedule.timezone,
            "description": schedule.describe(),
            "fire_times": preview(schedule, after, body.count),
        }
    )
