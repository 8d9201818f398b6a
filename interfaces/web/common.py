"""What every page module reads from the request: the system, the clock, an id in a path."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import Request

from domain.errors import InvalidInput
from domain.schedule import CronSchedule
from interfaces.bootstrap import System
from interfaces.http.deps import get_system, settle
from interfaces.web.auth import PageError


def system(request: Request) -> System:
    """The built System (interfaces.bootstrap) the API's create_app put on the app."""
    return get_system(request)


def settle_views(request: Request) -> None:
    """Wait, within the app's bound, until the views hold every event stored so far: after
    a change to something listed from a view (channels, triggers), the next page shows it."""
    settle(request)


def now(request: Request) -> datetime:
    current: datetime = request.app.state.clock.now()
    return current


def parse_id(raw: str, kind: str) -> UUID:
    """A job or run id from a path; anything else is a page that does not exist."""
    try:
        return UUID(raw)
    except ValueError:
        raise PageError(404, f"No such {kind}", f"{raw!r} is not a {kind} id.") from None


def next_run(job: dict[str, Any], at: datetime) -> datetime | None:
    """When an enabled, scheduled job fires next: its schedule's next fire time after `at`."""
    if not job.get("enabled") or not job.get("schedule"):
        return None
    try:
        return CronSchedule.from_dict(job["schedule"]).next_fire_time(at)
    except (InvalidInput, ValueError):
        return None
