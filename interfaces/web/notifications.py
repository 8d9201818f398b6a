"""The Notifications page: administrators add, test and delete notification channels.

Secrets are typed into a form and never shown again: the page lists them by name, as the API
does. A channel's settings are entered as JSON, per type, as the README documents them.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from application.channel_commands import ChannelNameTaken
from domain.access import Principal
from domain.channel_config import CHANNEL_TYPES, SECRET_FIELDS
from domain.errors import Conflict, InvalidInput, NotFound
from interfaces.web.auth import Admin, PageError, form_with_csrf
from interfaces.web.common import now, parse_id, settle_views, system
from interfaces.web.render import render

router = APIRouter(include_in_schema=False)
AdminForm = Depends(form_with_csrf("admin"))

NOTICES = {
    "created": "Channel added.",
    "test-sent": "Test message requested: the notifier sends it in a moment.",
    "deleted": "Channel deleted; its secrets are destroyed.",
}
EXAMPLES = {
    "webhook": '{"url": "https://ops.example/hooks/jobledger"}',
    "slack": '{"url": "https://hooks.slack.com/services/..."}',
    "teams": '{"url": "https://example.webhook.office.com/..."}',
    "email": '{"host": "smtp.example", "port": 587, "security": "starttls", "user": "jobledger", '
    '"from": "jobledger@example", "to": ["oncall@example"]}',
}


def _page(
    request: Request,
    raw: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    channels = system(request).notifications.channels()
    code = request.query_params.get("notice", "")
    return render(
        request,
        "notifications.html",
        {
            "channels": channels,
            "types": CHANNEL_TYPES,
            "secret_fields": SECRET_FIELDS,
            "examples": EXAMPLES,
            "raw": raw or {"name": "", "type": "webhook", "config": "", "secrets": ""},
            "errors": errors or {},
            "notice": NOTICES.get(code, ""),
        },
        status,
    )


@router.get("/notifications")
def notifications_page(request: Request, principal: Principal = Admin) -> Response:
    return _page(request)


def _json_field(raw: str, field: str) -> Any:
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        # The position only, never the text: it may hold a secret.
        raise InvalidInput(
            field, f"is not JSON (line {error.lineno}, column {error.colno})"
        ) from None


@router.post("/notifications")
async def create_channel(request: Request, checked: tuple[Principal, Any] = AdminForm) -> Response:
    principal, form = checked
    raw = {key: str(form.get(key) or "") for key in ("name", "type", "config", "secrets")}
    # The secrets are never sent back into the form.
    shown = {**raw, "secrets": ""}

    def create() -> Response:
        try:
            system(request).app.create_channel(
                name=raw["name"],
                type=raw["type"],
                config=_json_field(raw["config"], "config"),
                secrets=_json_field(raw["secrets"], "secrets"),
                actor=principal.actor,
            )
        except InvalidInput as error:
            field = error.field.split(".")[0]
            return _page(request, shown, {field: f"{error.field}: {error.message}"}, 422)
        except ChannelNameTaken as error:
            return _page(request, shown, {"name": str(error).removeprefix("name: ")}, 409)
        settle_views(request)  # the page it redirects to lists the new channel
        return RedirectResponse("/notifications?notice=created", status_code=303)

    return await run_in_threadpool(create)


@router.post("/notifications/{channel_id}/test")
async def test_channel(
    request: Request, channel_id: str, checked: tuple[Principal, Any] = AdminForm
) -> Response:
    principal, _form = checked
    ident = parse_id(channel_id, "channel")
    try:
        await run_in_threadpool(
            lambda: system(request).app.request_test_notification(
                ident, actor=principal.actor, now=now(request)
            )
        )
    except NotFound:
        raise PageError(404, "No such channel", f"There is no channel {ident}.") from None
    return RedirectResponse("/notifications?notice=test-sent", status_code=303)


@router.post("/notifications/{channel_id}/delete")
async def delete_channel(
    request: Request, channel_id: str, checked: tuple[Principal, Any] = AdminForm
) -> Response:
    principal, _form = checked
    ident = parse_id(channel_id, "channel")
    try:
        await run_in_threadpool(
            lambda: system(request).app.delete_channel(ident, actor=principal.actor)
        )
    except NotFound:
        raise PageError(404, "No such channel", f"There is no channel {ident}.") from None
    await run_in_threadpool(settle_views, request)
    return RedirectResponse("/notifications?notice=deleted", status_code=303)


@router.post("/jobs/{job_id}/notify")
async def save_job_rules(
    request: Request, job_id: str, checked: tuple[Principal, Any] = AdminForm
) -> Response:
    """A job's notification rules, from its page (a form of its own, beside the job's)."""
    principal, form = checked
    ident = parse_id(job_id, "job")
    raw_seconds = str(form.get("long_running_seconds") or "").strip()
    version_text = str(form.get("version") or "").strip()

    def save() -> Response:
        try:
            seconds: int | None = None
            if raw_seconds:
                if not raw_seconds.isdigit():
                    raise InvalidInput("long_running_seconds", "must be a whole number of seconds")
                seconds = int(raw_seconds)
            rules = _json_field(str(form.get("notify") or "[]"), "notify") or []
            job = system(request).app.update_job(
                ident,
                {"notify": rules, "long_running_seconds": seconds},
                actor=principal.actor,
                expected_version=int(version_text) if version_text.isdigit() else None,
            )
        except NotFound:
            raise PageError(404, "No such job", f"There is no job {ident}.") from None
        except InvalidInput as error:
            raise PageError(422, "Rules not saved", f"{error.field}: {error.message}") from None
        except Conflict as error:
            raise PageError(409, "Rules not saved", str(error)) from None
        return RedirectResponse(f"/jobs/{ident}?v={job.version}&notice=saved", status_code=303)

    return await run_in_threadpool(save)
