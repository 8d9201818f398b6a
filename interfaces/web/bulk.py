"""Bulk actions from the lists: jobs chosen by their checkboxes enabled, disabled, run now or
deleted; runs chosen on the runs list cancelled.

The list's form posts the choice here; this answers with ONE confirmation page listing
what was chosen (so it works without JavaScript), whose button posts it again with
`confirmed`; then each one goes through its single command (application.bulk_commands)
and a summary page says what was done and what was refused, and why.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from application.bulk_commands import JOB_ACTIONS, MAX_IDS, ROLE_OF, act_on_jobs, cancel_runs
from domain.access import Principal
from interfaces.web.auth import ROLE_NAMES, PageError, form_with_csrf, safe_next
from interfaces.web.common import system
from interfaces.web.render import render

router = APIRouter(include_in_schema=False)

OperatorForm = Depends(form_with_csrf("operator"))

# What each action's buttons and sentences say.
VERBS = {
    "enable": ("Enable", "enabled"),
    "disable": ("Disable", "disabled"),
    "run": ("Run now", "run"),
    "delete": ("Delete", "deleted"),
    "cancel": ("Cancel", "cancel requested"),
}


def chosen_ids(form: Any, field: str, kind: str) -> list[UUID]:
    """The ids ticked on the list (each once), or a page saying what is wrong."""
    raw = form.getlist(field)
    if not raw:
        raise PageError(400, "Nothing chosen", f"Tick at least one {kind}, then choose an action.")
    if len(raw) > MAX_IDS:
        raise PageError(400, "Too many chosen", f"Choose at most {MAX_IDS} {kind}s at once.")
    try:
        return list(dict.fromkeys(UUID(str(value)) for value in raw))
    except ValueError:
        raise PageError(400, "Bad choice", f"That is not a {kind} id.") from None


def check_role(principal: Principal, action: str) -> None:
    role = ROLE_OF[action]
    if not principal.may(role):
        raise PageError(
            403,
            "Not allowed",
            f"{VERBS[action][0]} needs {ROLE_NAMES[role]}; you are signed in as "
            f"{ROLE_NAMES.get(principal.role, principal.role)}.",
        )


def back_to(form: Any, default: str) -> str:
    """The list the choice was made on (its filter and page kept), a path on this site."""
    raw = form.get("back")
    return safe_next(raw) if isinstance(raw, str) and raw.startswith("/") else default


def _page(request: Request, context: dict[str, Any]) -> Response:
    return render(request, "bulk.html", context)


@router.post("/jobs/bulk")
async def jobs_bulk(request: Request, checked: tuple[Principal, Any] = OperatorForm) -> Response:
    principal, form = checked
    action = str(form.get("action") or "")
    if action not in JOB_ACTIONS:
        raise PageError(400, "No such action", "Choose enable, disable, run now or delete.")
    check_role(principal, action)
    ids = chosen_ids(form, "job_id", "job")
    jobs = system(request).jobs
    names = {ident: row["name"] for ident in ids if (row := jobs.get_job(ident)) is not None}
    context: dict[str, Any] = {
        "kind": "job",
        "action": action,
        "verb": VERBS[action],
        "post_to": "/jobs/bulk",
        "field": "job_id",
        "back": back_to(form, "/"),
    }
    if form.get("confirmed") != "yes":
        items = [{"id": i, "name": names.get(i, f"unknown job {i}")} for i in ids]
        return _page(request, {**context, "items": items, "done": False})
    outcomes = await run_in_threadpool(
        act_on_jobs,
        system(request).app,
        action,
        ids,
        actor=principal.actor,
        override_any=principal.role == "admin",
    )
    items = [
        {
            "id": o.ident,
            "name": names.get(o.ident, f"unknown job {o.ident}"),
            "ok": o.ok,
            "error": str(o.error) if o.error else "",
            "run_id": o.run_id,
        }
        for o in outcomes
    ]
    return _page(request, {**context, "items": items, "done": True})


@router.post("/runs/bulk-cancel")
async def runs_bulk_cancel(
    request: Request, checked: tuple[Principal, Any] = OperatorForm
) -> Response:
    principal, form = checked
    ids = chosen_ids(form, "run_id", "run")
    runs = system(request).runs
    found = {ident: row for ident in ids if (row := runs.get_run(ident)) is not None}

    def name(ident: UUID) -> str:
        run = found.get(ident)
        return f"{run['job_name']} (run {str(ident)[:8]}, {run['status']})" if run else str(ident)

    context: dict[str, Any] = {
        "kind": "run",
        "action": "cancel",
        "verb": VERBS["cancel"],
        "post_to": "/runs/bulk-cancel",
        "field": "run_id",
        "back": back_to(form, "/runs"),
    }
    if form.get("confirmed") != "yes":
        items = [{"id": i, "name": name(i)} for i in ids]
        return _page(request, {**context, "items": items, "done": False})
    outcomes = await run_in_threadpool(cancel_runs, system(request).app, ids, actor=principal.actor)
    items = [
        {"id": o.ident, "name": name(o.ident), "ok": o.ok, "error": str(o.error or "")}
        for o in outcomes
    ]
    return _page(request, {**context, "items": items, "done": True})
