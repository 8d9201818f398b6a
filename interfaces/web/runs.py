"""The runs pages: the list with filters, a run's page with its log viewer, cancel, download."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from domain.access import Principal
from domain.errors import Conflict, InvalidInput, NotFound
from domain.log_level import LogLevel
from domain.run_status import FINISHED_STATUSES
from interfaces.http.routes.log_archive import archive_of
from interfaces.web.auth import PageError, Viewer, form_with_csrf
from interfaces.web.common import parse_id, system
from interfaces.web.consistency import read_after_write
from interfaces.web.paging import Pager, page_of
from interfaces.web.render import SECURITY_HEADERS, render
from interfaces.web.run_view import (
    attempts_of,
    empty_log_sentence,
    parameter_lines,
    status_sentence,
)
from projections.runs import STATUSES

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
LOG_PAGE = 1000
JOB_CHOICES = 200  # jobs offered in the filter; a chosen job is always among them


def parse_time(raw: str, field: str) -> datetime | None:
    """A form time: RFC 3339, or a datetime-local value read as UTC."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(field, "is not a date and time like 2026-03-29T01:30") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@router.get("/runs")
def runs_list(request: Request, principal: Principal = Viewer) -> Response:
    params = request.query_params
    raw = {key: params.get(key, "").strip() for key in ("job_id", "status", "since", "until")}
    errors: dict[str, str] = {}
    filters: dict[str, Any] = {}
    try:
        filters["job_id"] = UUID(raw["job_id"]) if raw["job_id"] else None
    except ValueError:
        errors["job_id"] = "is not a job id"
    if raw["status"] and raw["status"] not in STATUSES:
        errors["status"] = "is not a run status"
    filters["status"] = raw["status"] or None
    for key in ("since", "until"):
        try:
            filters[key] = parse_time(raw[key], key)
        except InvalidInput as error:
            errors[key] = error.message
    runs: list[dict[str, Any]] = []
    next_cursor = None
    page, offset, cursor = page_of(params, PAGE_SIZE)
    total = 0
    if not errors:
        try:
            runs, next_cursor = system(request).runs.list_runs(
                limit=PAGE_SIZE, cursor=cursor, offset=offset, **filters
            )
            total = system(request).runs.count_runs(**filters)
        except InvalidInput as error:
            errors[error.field] = error.message
    jobs_view = system(request).jobs
    jobs, _ = jobs_view.list_jobs(limit=JOB_CHOICES)
    chosen = filters.get("job_id")
    if chosen is not None and all(job["id"] != chosen for job in jobs):
        # Past the first names in the list (or deleted): still shown as chosen.
        job = jobs_view.get_job(chosen)
        jobs.insert(0, {"id": chosen, "name": job["name"] if job else str(chosen)})
    query = {key: value for key, value in raw.items() if value}
    base = "/runs" + ("?" + urlencode(query) if query else "")
    return render(
        request,
        "runs.html",
        {
            "runs": runs,
            "next_cursor": next_cursor,
            "raw": raw,
            "errors": errors,
            "statuses": STATUSES,
            "jobs": jobs,
            "query": query,
            "paged": cursor is not None,
            "pages": Pager(page, PAGE_SIZE, total, len(runs), base, next_cursor),
        },
        422 if errors else 200,
    )


def load_run(request: Request, run_id: UUID, *, new: bool = False) -> dict[str, Any]:
    """The run from the view. Right after "Run now" (whose redirect says `new=1`) the view
    may not have the run yet, so only then wait a moment for it; else unknown is 404."""
    view = system(request).runs
    run: dict[str, Any] | None = read_after_write(
        lambda: view.get_run(run_id), lambda r: r is not None, wait=new
    )
    if run is None:
        raise PageError(404, "No such run", f"There is no run {run_id}.")
    return run


def _min_level(raw: str) -> LogLevel | None:
    try:
        return LogLevel.parse(raw, "min_level") if raw else None
    except InvalidInput:
        return None


@router.get("/runs/{run_id}")
def show_run(request: Request, run_id: str, principal: Principal = Viewer) -> Response:
    ident = parse_id(run_id, "run")
    run = load_run(request, ident, new=request.query_params.get("new") == "1")
    level = _min_level(request.query_params.get("min_level", ""))
    try:
        after = max(0, int(request.query_params.get("after") or 0))
    except ValueError:
        after = 0
    entries, next_after = system(request).logs.entries(
        ident, min_level=level, after=after, limit=LOG_PAGE
    )
    following = system(request).runs.next_attempt(ident)
    attempts = attempts_of(system(request).jobs.get_job(run["job_id"]))
    parameters = run.get("parameters")
    return render(
        request,
        "run.html",
        {
            "run": run,
            # Administrators download a log retention archived before deleting it.
            "log_archive": bool(run.get("log_purged_at"))
            and principal.may("admin")
            and archive_of(system(request), ident) is not None,
            "waiting_reason": system(request).waiting_reason(run),
            "entries": entries,
            "next_after": next_after,
            "after": after,
            "min_level": level.name if level else "",
            "levels": [lvl.name for lvl in LogLevel],
            "live": run["status"] not in FINISHED_STATUSES,
            "last_seq": entries[-1]["seq"] if entries else after,
            "notifications": system(request).notifications.run_deliveries(ident),
            "sentence": status_sentence(run),
            "empty_sentence": empty_log_sentence(run, level.name if level else ""),
            "next_attempt": following,
            # "of N" only while it is true of this run (the policy may have changed since).
            "attempts": attempts if attempts is not None and run["attempt"] <= attempts else None,
            "parameter_lines": None
            if parameters is None
            else parameter_lines(parameters, run.get("overrides") or []),
        },
    )


@router.post("/runs/{run_id}/cancel")
async def cancel_run(
    request: Request,
    run_id: str,
    checked: tuple[Principal, Any] = Depends(form_with_csrf("operator")),
) -> Response:
    principal, form = checked
    ident = parse_id(run_id, "run")
    try:
        await run_in_threadpool(system(request).app.cancel_run, ident, actor=principal.actor)
    except NotFound:
        raise PageError(404, "No such run", f"There is no run {ident}.") from None
    except (Conflict, InvalidInput) as error:
        raise PageError(409, "Cannot cancel", str(error)) from None
    if form.get("back") == "dashboard":  # cancelled from the dashboard: back to it
        return RedirectResponse("/?notice=cancel-requested", status_code=303)
    return RedirectResponse(f"/runs/{ident}?notice=cancel-requested", status_code=303)


@router.get("/runs/{run_id}/log.txt")
def download_log(request: Request, run_id: str, principal: Principal = Viewer) -> Response:
    ident = parse_id(run_id, "run")
    load_run(request, ident)
    level = _min_level(request.query_params.get("min_level", ""))
    logs = system(request).logs

    def lines() -> Iterator[bytes]:
        # Page through the view, so a run with a million entries streams in bounded memory.
        after: int | None = 0
        while after is not None:
            entries, after = logs.entries(ident, min_level=level, after=after, limit=LOG_PAGE)
            yield "".join(
                f"{e['at'].astimezone(UTC).isoformat()} {e['level']:<7} {e['message']}\n"
                for e in entries
            ).encode()

    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="run-{ident}.log"',
    }
    return StreamingResponse(lines(), media_type="text/plain; charset=utf-8", headers=headers)
