"""Bulk actions: enable, disable, run or delete many jobs, or cancel many runs, in one
request. Each id goes through its single command (its own event, with the caller as actor)
and gets its own result, as the single route would answer it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from application.bulk_commands import ROLE_OF, Outcome, act_on_jobs, cancel_runs
from domain.access import Principal
from domain.errors import InvalidInput, JobLedgerError, NotFound, NotPermitted
from interfaces.http.auth import Operator
from interfaces.http.bulk_schemas import BulkResults, JobsBulk, RunsBulkCancel
from interfaces.http.deps import SystemDep, settle
from interfaces.http.problems import Forbidden
from interfaces.http.responses import OrjsonResponse

router = APIRouter(tags=["bulk"])


def error_status(error: JobLedgerError) -> int:
    """The status the single route answers for `error` (interfaces.http.problems)."""
    if isinstance(error, NotPermitted):
        return 403
    if isinstance(error, InvalidInput):
        return 422
    if isinstance(error, NotFound):
        return 404
    return 409  # Conflict, SecretUnavailable and any other refusal


def results(action: str, outcomes: list[Outcome], done: int) -> dict[str, Any]:
    items = [
        {
            "id": o.ident,
            "ok": o.ok,
            "status": done if o.error is None else error_status(o.error),
            "detail": None if o.error is None else str(o.error),
            "run_id": o.run_id,
        }
        for o in outcomes
    ]
    succeeded = sum(1 for o in outcomes if o.ok)
    return {
        "action": action,
        "succeeded": succeeded,
        "failed": len(outcomes) - succeeded,
        "results": items,
    }


def check_role(principal: Principal, action: str) -> None:
    role = ROLE_OF[action]
    if not principal.may(role):
        raise Forbidden(
            f"{action} needs the {role} role; token {principal.name!r} has the "
            f"{principal.role} role"
        )


@router.post(
    "/api/jobs/bulk",
    response_model=BulkResults,
    summary="Enable, disable, run or delete many jobs",
    description="One request, one result per job (in the order given, each job once): "
    "`ok`, and the status the single action would answer (200, or 202 with `run_id` for run; "
    "404 unknown or deleted, 409 refused, 403 not permitted). One job refused does not stop "
    "the others. Each change is its own event with the caller as actor. enable, disable and "
    "delete need the admin role, run the operator role (403 for the whole request "
    "otherwise, and nothing is done).",
)
def bulk_jobs(request: Request, system: SystemDep, body: JobsBulk, principal: Operator) -> Response:
    check_role(principal, body.action)
    outcomes = act_on_jobs(
        system.app,
        body.action,
        body.job_ids,
        actor=principal.actor,
        override_any=principal.role == "admin",
    )
    settle(request)
    done = 202 if body.action == "run" else 200
    return OrjsonResponse(results(body.action, outcomes, done))


@router.post(
    "/api/runs/bulk-cancel",
    response_model=BulkResults,
    summary="Cancel many runs",
    description="One result per run, as for `POST /api/runs/{id}/cancel` (202 when "
    "requested; 404 unknown, 409 already finished). Needs the operator role.",
)
def bulk_cancel(
    request: Request, system: SystemDep, body: RunsBulkCancel, principal: Operator
) -> Response:
    outcomes = cancel_runs(system.app, body.run_ids, actor=principal.actor)
    settle(request)
    return OrjsonResponse(results("cancel", outcomes, 202))
