"""The audit pages: a job's history with before/after, the job as it was, and the whole
trail: job changes, runs people started or cancelled, tokens and sign-ins."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.access import Principal
from domain.errors import InvalidInput, NotFound
from interfaces.web.auth import PageError, Viewer
from interfaces.web.common import parse_id, system
from interfaces.web.consistency import read_after_write, wanted_version
from interfaces.web.paging import Pager, page_of
from interfaces.web.render import render
from interfaces.web.runs import parse_time
from interfaces.web.saves import change_rows, group_saves
from interfaces.web.script_field import split_program
from interfaces.web.wording import describe_entry
from projections.audit import JOB_ACTIONS, parse_actions

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


@router.get("/jobs/{job_id}/history")
def job_history(request: Request, job_id: str, principal: Principal = Viewer) -> Response:
    ident = parse_id(job_id, "job")
    version = wanted_version(request.query_params.get("v"))
    audit = system(request).audit
    entries: list[dict[str, Any]] = read_after_write(
        lambda: audit.history(ident),
        lambda rows: bool(rows) and rows[-1]["version"] >= version,
        wait=version > 0,
    )
    if not entries:
        raise PageError(404, "No such job", f"There is no history for job {ident}.")
    current = system(request).jobs.get_job(ident)
    return render(
        request,
        "history.html",
        {
            "job_id": ident,
            "job_name": entries[-1]["job_name"],
            "current": current,
            # One Save of the form is one entry, though it is stored as an event per field.
            "entries": list(reversed(group_saves(entries))),
            "at": request.query_params.get("at", ""),
        },
    )


@router.get("/jobs/{job_id}/at")
def job_as_of(request: Request, job_id: str, principal: Principal = Viewer) -> Response:
    """The job as it was at a past time (or version): replayed from its events."""
    ident = parse_id(job_id, "job")
    raw_at = request.query_params.get("at", "").strip()
    raw_version = request.query_params.get("version", "").strip()
    at: datetime | None = None
    try:
        if raw_version:
            version = int(raw_version) if raw_version.isdigit() else -1
            if version < 1:
                raise InvalidInput("version", "must be a positive whole number")
            job = system(request).app.job_at(ident, version=version)
        else:
            at = parse_time(raw_at, "at")
            if at is None:
                raise InvalidInput("at", "choose a date and time")
            job = system(request).app.job_at(ident, at=at)
    except NotFound:
        raise PageError(404, "No such job", f"There is no job {ident} at that point.") from None
    except InvalidInput as error:
        raise PageError(400, "Cannot show the job then", error.message) from None
    return render(
        request,
        "job_at.html",
        {
            "job": job,
            "job_id": ident,
            "at": at,
            "secret_names": job.secret_names(),
            # A script reads as text, as the job form shows it (script_field.py).
            "program": split_program(job.job_type, job.program),
            "policies": job.policies,
        },
    )


# The action filter's choices: single actions, and groups of them (comma-separated).
ACTION_CHOICES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Jobs",
        (
            ("job.created,job.changed,job.deleted", "Any change to a job"),
            ("job.created", "Job created"),
            ("job.changed", "Job changed"),
            ("job.deleted", "Job deleted"),
        ),
    ),
    (
        "Runs",
        (
            ("run.requested,run.cancelled", "Runs started or cancelled by someone"),
            ("run.requested", "Run now"),
            ("run.cancelled", "Run cancelled"),
        ),
    ),
    (
        "Access",
        (
            ("token.created,token.revoked,sign_in.succeeded,sign_in.failed", "Any access"),
            ("token.created,token.revoked", "Tokens created or revoked"),
            ("token.created", "Token created"),
            ("token.revoked", "Token revoked"),
            ("sign_in.succeeded", "Signed in"),
            ("sign_in.failed", "Failed sign-in"),
        ),
    ),
    (
        "Webhooks",
        (
            (
                "trigger.created,trigger.revoked,webhook.refused",
                "Any webhook trigger change or refusal",
            ),
            ("trigger.created", "Trigger created"),
            ("trigger.revoked", "Trigger revoked"),
            ("webhook.refused", "Webhook call refused"),
        ),
    ),
    (
        "Notification channels",
        (
            (
                "channel.created,channel.changed,channel.deleted,channel.tested",
                "Any notification channel change or test",
            ),
            ("channel.created", "Channel created"),
            ("channel.changed", "Channel changed"),
            ("channel.deleted", "Channel deleted"),
            ("channel.tested", "Test message sent"),
        ),
    ),
)


def _audit_filters(params: Any) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """The page's filters from its query: (for the view, as typed, errors by field)."""
    raw = {key: params.get(key, "").strip() for key in ("job_id", "actor", "since", "until")}
    raw["action"] = ",".join(v.strip() for v in params.getlist("action") if v.strip())
    errors: dict[str, str] = {}
    filters: dict[str, Any] = {"actor": raw["actor"] or None}
    if "\x00" in raw["actor"]:  # no store can hold it: bad input, not a 500
        errors["actor"] = "must not contain NUL characters"
    try:
        filters["job_id"] = UUID(raw["job_id"]) if raw["job_id"] else None
    except ValueError:
        errors["job_id"] = "is not a job id"
    try:
        filters["actions"] = parse_actions([raw["action"]])
    except InvalidInput as error:
        errors["action"] = error.message
    for key in ("since", "until"):
        try:
            filters[key] = parse_time(raw[key], key)
        except InvalidInput as error:
            errors[key] = error.message
    return filters, raw, errors


def csv_link(filters: dict[str, Any]) -> str:
    """/api/audit.csv with the page's filters, as the API takes them (times with offsets)."""
    query: list[tuple[str, str]] = []
    for key in ("job_id", "actor", "since", "until"):
        value = filters.get(key)
        if value is not None:
            query.append((key, value.isoformat() if isinstance(value, datetime) else str(value)))
    query += [("action", action) for action in filters.get("actions") or ()]
    return "/api/audit.csv" + ("?" + urlencode(query) if query else "")


@router.get("/audit")
def audit_trail(request: Request, principal: Principal = Viewer) -> Response:
    params = request.query_params
    filters, raw, errors = _audit_filters(params)
    entries: list[dict[str, Any]] = []
    next_cursor = None
    page, offset, cursor = page_of(params, PAGE_SIZE)
    total = 0
    if not errors:
        try:
            entries, next_cursor = system(request).audit.entries(
                limit=PAGE_SIZE, cursor=cursor, offset=offset, **filters
            )
            total = system(request).audit.count_entries(**filters)
        except InvalidInput as error:
            errors[error.field] = error.message
    query = {key: value for key, value in raw.items() if value}
    return render(
        request,
        "audit.html",
        {
            "entries": [
                {
                    **e,
                    "rows": change_rows(e["changes"]),
                    "job_change": e["action"] in JOB_ACTIONS,
                    "words": "" if e["action"] in JOB_ACTIONS else describe_entry(e),
                }
                for e in entries
            ],
            "next_cursor": next_cursor,
            "raw": raw,
            "errors": errors,
            "query": query,
            "paged": cursor is not None,
            "pages": Pager(
                page,
                PAGE_SIZE,
                total,
                len(entries),
                "/audit" + ("?" + urlencode(query) if query else ""),
                next_cursor,
            ),
            "action_choices": ACTION_CHOICES,
            # A combination typed into the address, shown as what it is rather than "any".
            "other_action": raw["action"] not in {v for _g, cs in ACTION_CHOICES for v, _l in cs},
            "csv_link": "" if errors else csv_link(filters),
        },
        422 if errors else 200,
    )
