"""Rendering pages: one Jinja2 environment (autoescape on), shared filters and headers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from domain.errors import InvalidInput
from domain.schedule import CronSchedule
from interfaces.web.script_field import SCRIPT_KEYS
from interfaces.web.session import csrf_token, principal_from_session
from interfaces.web.wording import describe_event, field_label

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
STATIC_PREFIX = "/assets"

# Scripts come only from our own files: no inline script can run, so text that slipped
# past escaping could still not execute.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


NOTICES = {
    "created": "Job created.",
    "saved": "Changes saved.",
    "unchanged": "Nothing was changed.",
    "secret-set": "Secret stored. Its value will not be shown again.",
    "secret-removed": "Secret removed.",
    "cancel-requested": "Cancellation requested.",
    "signed-out": "You are signed out.",
    "deleted": "Job deleted.",
    "trigger-revoked": "Trigger revoked: its URL and token start no run from now on.",
    "cloned": "Job cloned: its configuration is copied, its secrets are not.",
}


def utc_text(value: datetime) -> str:
    """An instant in the one format every page uses, in UTC: "2026-11-30 14:05:09 UTC"."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def when(value: datetime | None, zone: str | None = None, relative: bool = False) -> Markup:
    """Every time a page shows: a <time> in UTC, with UTC on hover. static/times.js shows it in
    the browser's zone, or in `zone` (a job's, for its fire times) when given, unless the
    reader chose UTC; without JavaScript it stays UTC, in the same format. A `relative` one
    (on lists) is shown as "3 min ago" by times.js, the time itself on hover."""
    if value is None:
        return Markup("—")
    text = utc_text(value)
    zoned = Markup(' data-zone="{}"').format(zone) if zone else ""
    if relative:
        zoned += Markup(" data-relative")
    return Markup('<time datetime="{}" title="{}"{}>{}</time>').format(
        iso(value), text, zoned, escape(text)
    )


def iso(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).isoformat()


def compact_json(value: Any) -> str:
    """JSON as people read it (the template escapes it; tojson's \u0027 would show)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def schedule_words(schedule: dict[str, str] | None) -> str:
    """A stored schedule in plain English, with its time zone."""
    if not schedule:
        return "not scheduled"
    try:
        parsed = CronSchedule.from_dict(schedule)
    except InvalidInput:
        return f"cron: {schedule.get('cron')}"
    return f"{parsed.describe()} ({parsed.timezone})"


def duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return "—"
    seconds = (end - start).total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min {rest} s" if hours else f"{minutes} min {rest} s"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=when,
        iso=iso,
        pretty_json=pretty_json,
        json=compact_json,
        schedule_words=schedule_words,
    )
    env.globals.update(
        duration=duration,
        static=STATIC_PREFIX,
        describe_event=describe_event,
        field_label=field_label,
        script_types=SCRIPT_KEYS,
    )
    return env


ENV = _environment()


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """A page: the template with the signed-in principal and the session's CSRF token."""
    principal = principal_from_session(request)
    values: dict[str, Any] = {
        "request": request,
        "principal": principal,
        "csrf_token": csrf_token(request) if principal else "",
        "errors": {},
        # Notices are chosen by code, so a link cannot make a page say arbitrary things.
        "notice": NOTICES.get(request.query_params.get("notice", ""), ""),
    }
    values.update(context or {})
    html = ENV.get_template(template).render(**values)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
