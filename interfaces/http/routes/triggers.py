"""/api/jobs/{id}/triggers: an administrator creates, lists and revokes a job's webhook
triggers. A trigger's token is in the creation's response only."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from domain.errors import NotFound
from domain.trigger import Trigger
from interfaces.http import trigger_schemas as schemas
from interfaces.http.auth import Admin, Viewer
from interfaces.http.deps import SystemDep, settle
from interfaces.http.responses import OrjsonResponse

LISTED = ("id", "job_id", "name", "created_at", "created_by")  # schemas.Trigger

router = APIRouter(prefix="/api/jobs/{job_id}/triggers", tags=["triggers"])

JobId = Annotated[UUID, Path(description="the job's id")]
TriggerId = Annotated[UUID, Path(description="the trigger's id")]


def hook_url(request: Request, trigger_id: UUID) -> str:
    """Where to call the trigger, as this server is reached by the caller who made it."""
    return str(request.url_for("call_hook", trigger_id=str(trigger_id)))


def created(request: Request, trigger: Trigger, token: str) -> dict[str, Any]:
    return {**trigger.summary(), "url": hook_url(request, trigger.id), "token": token}


@router.post(
    "",
    status_code=201,
    response_model=schemas.TriggerCreated,
    summary="Create a webhook trigger",
    description="Returns the trigger's URL and token. The token is shown this once; only its "
    "hash is stored. POST to the URL with `Authorization: Bearer <token>` (or a GitHub-style "
    "`X-Hub-Signature-256`) to start a run.",
)
def create_trigger(
    request: Request,
    system: SystemDep,
    job_id: JobId,
    body: schemas.TriggerCreate,
    principal: Admin,
) -> Response:
    trigger, token = system.app.create_trigger(job_id, body.name, actor=principal.actor)
    settle(request)
    return OrjsonResponse(created(request, trigger, token), status_code=201)


@router.get(
    "",
    response_model=schemas.Triggers,
    summary="List a job's webhook triggers (never their tokens)",
)
def list_triggers(system: SystemDep, job_id: JobId, _principal: Viewer) -> Response:
    # From the views: the job's row (404 when there is none) and the notifications view.
    if system.jobs.get_job(job_id) is None:
        raise NotFound("job", job_id)
    rows = system.notifications.job_triggers(job_id)
    return OrjsonResponse({"items": [{k: row[k] for k in LISTED} for row in rows]})


@router.delete(
    "/{trigger_id}",
    status_code=204,
    response_class=Response,
    summary="Revoke a webhook trigger",
)
def revoke_trigger(
    request: Request,
    system: SystemDep,
    job_id: JobId,
    trigger_id: TriggerId,
    principal: Admin,
) -> Response:
    system.app.revoke_trigger(job_id, trigger_id, actor=principal.actor)
    settle(request)
    return Response(status_code=204)
