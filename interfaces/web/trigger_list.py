"""What the job page shows of a job's webhook triggers: the live ones (never a token) and
the create form's errors. Apart from the routes (interfaces.web.triggers), which need the
job page."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from domain.errors import NotFound
from domain.trigger import TRIGGER_NAME, TRIGGER_NAME_RULE
from interfaces.web.common import system
from interfaces.web.forms import Errors


def triggers_context(
    request: Request, job: dict[str, Any], errors: Errors | None, name: str
) -> dict[str, Any]:
    try:
        views = system(request).notifications
        triggers = [] if job.get("deleted") else views.job_triggers(job["id"])
    except NotFound:  # deleted since the view was read
        triggers = []
    return {
        "triggers": triggers,
        "trigger_errors": (errors or Errors()).by_field,
        "trigger_name": name,
        "trigger_name_pattern": TRIGGER_NAME.pattern,
        "trigger_name_rule": TRIGGER_NAME_RULE[:1].upper() + TRIGGER_NAME_RULE[1:] + ".",
    }
