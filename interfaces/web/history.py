"""The audit pages: a job's history with before/after, the job as it was, and the whole trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.access import Principal
from domain.errors import InvalidInput, NotFound
from interfaces.web.auth import PageError, Viewer
from interfaces.web.common import parse_id, system
from interfaces.web.consistency import read_after_write, wanted_version
from interfaces.web.render import render
from interfaces.web.runs import parse_time
from interfaces.web.saves import change_rows, group_saves

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
            "policies": job.policies,
        },
    )


@router.get("/audit")
def audit_trail(request: Request, principal: Principal = Viewer) -> Response:
    params = request.query_params
    raw = {key: params.get(key, "").strip() for key in ("job_id", "actor", "since", "until")}
    errors: dict[str, str] = {}
    filters: dict[str, Any] = {"actor": raw["actor"] or None}
    if "\x00" in raw["actor"]:  # no store can hold it: bad input, not a 500
        errors["actor"] = "must not contain NUL characters"
    try:
        filters["job_id"] = UUID(raw["job_id"]) if raw["job_id"] else None
    except ValueError:
        errors["job_id"] = "is not a job id"
    for key in ("since", "until"):
        try:
            filters[key] = parse_time(raw[key], key)
        except InvalidInput as error:
            errors[key] = error.message
    entries: list[dict[str, Any]] = []
    next_cursor = None
    cursor = params.get("cursor") or None
    if not errors:
        try:
            entries, next_cursor = system(request).audit.entries(
                limit=PAGE_SIZE, cursor=cursor, **filters
            )
        except InvalidInput as error:
            errors[error.field] = error.message
    return render(
        request,
        "audit.html",
        {
            "entries": [{**e, "rows": change_rows(e["changes"])} for e in entries],
            "next_cursor": next_cursor,
            "raw": raw,
            "errors": errors,
            "query": {key: value for key, value in raw.items() if value},
            "paged": cursor is not None,
        },
        422 if errors else 200,
    )
