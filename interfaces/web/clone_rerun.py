"""Clone a job (its configuration, never its secrets) and rerun a run, from their pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from domain.access import Principal
from domain.errors import Conflict, InvalidInput, NameTaken, NotFound, NotPermitted
from interfaces.web.auth import PageError, form_with_csrf
from interfaces.web.common import parse_id, system
from interfaces.web.forms import text

router = APIRouter(include_in_schema=False)


def secrets_to_set(request: Request, job: dict[str, Any]) -> list[str]:
    """On a clone's page (`?from=` the job it was cloned from): the secrets that job has and
    the clone has not yet, by name. Looked up, not read from the link, so a link cannot make
    the page name anything."""
    source = request.query_params.get("from")
    if not source:
        return []
    try:
        found = system(request).jobs.get_job(parse_id(source, "job"))
    except PageError:
        return []
    if found is None:
        return []
    have = {secret["name"] for secret in job["secrets"]}
    return [secret["name"] for secret in found["secrets"] if secret["name"] not in have]


@router.post("/jobs/{job_id}/clone")
async def clone_job(
    request: Request,
    job_id: str,
    checked: tuple[Principal, Any] = Depends(form_with_csrf("admin")),
) -> Response:
    principal, form = checked
    ident = parse_id(job_id, "job")
    name = text(form, "name")
    try:
        clone, _names = await run_in_threadpool(
            system(request).app.clone_job, ident, name=name, actor=principal.actor
        )
    except NotFound:
        raise PageError(404, "No such job", f"There is no job {ident}.") from None
    except NameTaken:
        raise PageError(
            409,
            "Not cloned",
            f"Another job is already named “{name.strip()}”: choose another name.",
        ) from None
    except InvalidInput as error:
        raise PageError(422, "Not cloned", f"The new name {error.message}.") from None
    return RedirectResponse(
        f"/jobs/{clone.id}?v={clone.version}&notice=cloned&from={ident}", status_code=303
    )


@router.post("/runs/{run_id}/rerun")
async def rerun(
    request: Request,
    run_id: str,
    checked: tuple[Principal, Any] = Depends(form_with_csrf("operator")),
) -> Response:
    principal, _form = checked
    ident = parse_id(run_id, "run")
    try:
        run = await run_in_threadpool(
            system(request).app.rerun,
            ident,
            actor=principal.actor,
            override_any=principal.role == "admin",
        )
    except NotFound as error:
        raise PageError(404, "Not rerun", f"There is no {error.kind} {error.ident}.") from None
    except NotPermitted as error:
        raise PageError(403, "Not rerun", f"{error.message}.") from None
    except (Conflict, InvalidInput) as error:
        raise PageError(409, "Not rerun", str(error)) from None
    # `new` tells the run page to wait for the runs view to show the run just requested.
    return RedirectResponse(f"/runs/{run.id}?new=1", status_code=303)
