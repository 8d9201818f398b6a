"""The jobs list at /jobs: filtered by folder, tags, status, type and text, sorted, with the
total and numbered pages, and a warning beside jobs whose type no live worker can run."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from domain.access import Principal
from domain.errors import InvalidInput
from interfaces.web.auth import PageError, Viewer
from interfaces.web.common import next_run, now, system
from interfaces.web.job_filters import JobFilter, filter_context
from interfaces.web.paging import Pager, page_of
from interfaces.web.render import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


@router.get("/jobs")
def jobs_list(request: Request, principal: Principal = Viewer) -> Response:
    params = request.query_params
    page, offset, cursor = page_of(params, PAGE_SIZE)
    try:
        wanted = JobFilter.from_query(params)
    except InvalidInput as error:  # no store can hold it, or no such choice: not a 500
        raise PageError(400, "Bad filter", f"{error.field}: {error.message}.") from None
    if any(value == "" for _key, value in params.multi_items()):
        # The filter form sends its empty choices too: keep the address short and canonical.
        return RedirectResponse(wanted.url(cursor=cursor), status_code=303)
    view = system(request).jobs
    query = wanted.query()
    current = now(request)
    try:
        jobs, next_cursor = view.list_jobs(
            query, limit=PAGE_SIZE, cursor=cursor, offset=offset, sort=wanted.sort, at=current
        )
    except (InvalidInput, ValueError):
        raise PageError(400, "Bad page link", "That page link is not valid.") from None
    pages = Pager(page, PAGE_SIZE, view.count_jobs(query), len(jobs), wanted.url(), next_cursor)
    for job in jobs:
        job["next_run"] = next_run(job, current)
    types = system(request).job_type_availability({job["job_type"] for job in jobs})
    # Job type -> why no live worker can run it, for a warning beside each such job.
    unrunnable = {name: found.reason for name, found in types.items() if not found.available}
    return render(
        request,
        "jobs.html",
        {
            "jobs": jobs,
            "next_cursor": next_cursor,
            "q": wanted.q,
            **filter_context(view, wanted),
            "paged": cursor is not None,
            "pages": pages,
            "unrunnable": unrunnable,
        },
    )
