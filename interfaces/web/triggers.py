"""The job page's webhook triggers: an administrator creates one (its URL and token are
shown on the next page, once) and revokes one. The list itself is on the job page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from domain.access import Principal
from domain.errors import Conflict, InvalidInput, NotFound
from interfaces.http.routes.triggers import hook_url
from interfaces.web.auth import PageError
from interfaces.web.common import parse_id, settle_views, system
from interfaces.web.forms import Errors, text
from interfaces.web.jobs import AdminForm, job_page, load_job, refused_as_pages
from interfaces.web.render import render

router = APIRouter(include_in_schema=False)


@router.post("/jobs/{job_id}/triggers")
async def create_trigger(
    request: Request, job_id: str, checked: tuple[Principal, Any] = AdminForm
) -> Response:
    principal, form = checked
    ident = parse_id(job_id, "job")
    name = text(form, "name").strip()

    def create() -> Response:
        try:
            trigger, token = system(request).app.create_trigger(ident, name, actor=principal.actor)
        except NotFound:
            raise PageError(404, "Trigger not created", f"There is no job {ident}.") from None
        except (InvalidInput, Conflict) as error:
            # A bad name, or one another live trigger of this job has.
            errors = Errors()
            errors.by_field["name"] = (
                error.message if isinstance(error, InvalidInput) else str(error)
            )
            job = load_job(request, ident)
            return job_page(request, job, trigger_errors=errors, trigger_name=name, status=422)
        settle_views(request)  # the job page, next, lists it
        # The token is in this response only (no-store, like every page), never in a URL.
        return render(
            request,
            "trigger_created.html",
            {
                "job_id": ident,
                "trigger": trigger,
                "url": hook_url(request, trigger.id),
                "token": token,
            },
            201,
        )

    return await run_in_threadpool(create)


@router.post("/jobs/{job_id}/triggers/{trigger_id}/revoke")
async def revoke_trigger(
    request: Request, job_id: str, trigger_id: str, checked: tuple[Principal, Any] = AdminForm
) -> Response:
    principal, _form = checked
    ident = parse_id(job_id, "job")
    trigger = parse_id(trigger_id, "trigger")

    def revoke() -> Response:
        with refused_as_pages("Trigger not revoked", f"Job {ident} has no live trigger {trigger}."):
            system(request).app.revoke_trigger(ident, trigger, actor=principal.actor)
        settle_views(request)  # the job page it redirects to lists the live triggers
        return RedirectResponse(f"/jobs/{ident}?notice=trigger-revoked#triggers", status_code=303)

    return await run_in_threadpool(revoke)
