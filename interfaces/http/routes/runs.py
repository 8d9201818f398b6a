"""/api/runs: list and show runs, cancel one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from domain.errors import NotFound
from interfaces.http import schemas
from interfaces.http.auth import Operator, Viewer
from interfaces.http.deps import SystemDep, settle
from interfaces.http.inputs import utc
from interfaces.http.responses import OrjsonResponse
from interfaces.http.routes.common import Cursor, Limit

router = APIRouter(prefix="/api/runs", tags=["runs"])


RunId = Annotated[UUID, Path(description="the run's id")]


@router.get(
    "",
    response_model=schemas.RunPage,
    summary="List runs, newest first",
    description="`since` is inclusive and `until` exclusive, both on the request time.",
)
def list_runs(
    system: SystemDep,
    _principal: Viewer,
    job_id: UUID | None = None,
    status: schemas.RunStatus | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    items, next_cursor = system.runs.list_runs(
        job_id=job_id,
        status=status,
        since=utc(since, "since"),
        until=utc(until, "until"),
        limit=limit,
        cursor=cursor,
    )
    return OrjsonResponse({"items": items, "next_cursor": next_cursor})


@router.get(
    "/{run_id}",
    response_model=schemas.RunDetail,
    summary="Show a run",
    description="With the run's effective `parameters` (overridden keys in `overrides`) and "
    "its `next_attempt`, the retry that followed it.",
)
def get_run(system: SystemDep, run_id: RunId, _principal: Viewer) -> Response:
    run = system.runs.get_run(run_id)
    if run is None:
        raise NotFound("run", run_id)
    following = system.runs.next_attempt(run_id)
    return OrjsonResponse(
        {
            **run,
            "next_attempt": following["id"] if following else None,
            "waiting_reason": system.waiting_reason(run),
        }
    )


@router.post(
    "/{run_id}/cancel",
    status_code=202,
    response_model=schemas.RunAccepted,
    summary="Cancel a run",
    description="A queued run is cancelled at once; a running one is stopped by its worker.",
)
def cancel_run(request: Request, system: SystemDep, run_id: RunId, principal: Operator) -> Response:
    run = system.app.cancel_run(run_id, actor=principal.actor)
    settle(request)
    return OrjsonResponse({"run_id": run.id}, status_code=202)


@router.post(
    "/{run_id}/rerun",
    status_code=202,
    response_model=schemas.RunAccepted,
    summary="Run a run's job again with the same parameters",
    description="A new run (trigger `rerun`, its `rerun_of` this run) of the job as it is now, "
    "with this run's effective parameters. Where the job's parameters changed since, this "
    "run's values are overrides: an operator may resend only those the job lets operators "
    "override (403 naming them otherwise, and nothing runs); an administrator may resend any.",
)
def rerun(request: Request, system: SystemDep, run_id: RunId, principal: Operator) -> Response:
    run = system.app.rerun(run_id, actor=principal.actor, override_any=principal.role == "admin")
    settle(request)
    return OrjsonResponse(
        {"run_id": run.id}, status_code=202, headers={"Location": f"/api/runs/{run.id}"}
    )
