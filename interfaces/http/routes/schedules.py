"""/api/schedules/preview: a schedule in words and its next fire times, before saving it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain import schedule_preview
from domain.errors import FieldError, InvalidInput
from domain.schedule import CronSchedule
from interfaces.http import schemas
from interfaces.http.auth import Viewer
from interfaces.http.deps import now
from interfaces.http.inputs import check_text, utc
from interfaces.http.responses import OrjsonResponse

router = APIRouter(prefix="/api/schedules", tags=["schedules"])


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
        raise InvalidInput.of(
            [FieldError(e.field.removeprefix("schedule."), e.message) for e in error.errors]
        ) from None
    shown = schedule_preview.preview_schedule(schedule, after, body.count)
    return OrjsonResponse(
        {
            "cron": schedule.cron,
            "timezone": schedule.timezone,
            "description": shown.description,
            "fire_times": [
                {
                    "at": time.at,
                    "local": time.local,
                    "utc_offset": time.offset_text,
                    "offset_changed": time.dst_change,
                }
                for time in shown.fire_times
            ],
        }
    )
