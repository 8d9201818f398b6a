"""/api/runs/{id}/logs: pages of a run's log, and the live stream (Server-Sent Events)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from domain.errors import InvalidInput, NotFound
from interfaces.http import schemas
from interfaces.http.auth import Viewer
from interfaces.http.deps import SystemDep, get_system
from interfaces.http.responses import OrjsonResponse
from interfaces.http.routes.common import MAX_SEQ
from interfaces.http.sse import log_events

router = APIRouter(prefix="/api/runs", tags=["logs"])

# One Server-Sent Event: an entry (id = seq, data = the entry as JSON) or the `end` event
# (data = {"status": ...}).
SSE_EVENT = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["message", "end"]},
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "data": {"type": "string"},
    },
    "required": ["data"],
}

RunId = Annotated[UUID, Path(description="the run's id")]
MinLevel = Annotated[
    schemas.LogLevelName | None, Query(description="only entries at this level or above")
]
After = Annotated[int, Query(ge=0, le=MAX_SEQ, description="only entries with a higher seq")]


def _check_run(request: Request, run_id: UUID) -> None:
    if get_system(request).runs.get_run(run_id) is None:
        raise NotFound("run", run_id)


@router.get(
    "/{run_id}/logs",
    response_model=schemas.LogPage,
    summary="A page of a run's log",
    description="`next_after` is the `after` of the next page, or null when there are no "
    "more entries yet.",
)
def log_page(
    request: Request,
    system: SystemDep,
    run_id: RunId,
    _principal: Viewer,
    min_level: MinLevel = None,
    after: After = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    _check_run(request, run_id)
    items, next_after = system.logs.entries(run_id, min_level=min_level, after=after, limit=limit)
    return OrjsonResponse({"items": items, "next_after": next_after})


@router.get(
    "/{run_id}/logs/stream",
    response_class=StreamingResponse,
    summary="Follow a run's log live (Server-Sent Events)",
    description="Sends the entries after `after` (or the Last-Event-ID header, a seq), then "
    "new ones as they are recorded, each as a message whose id is its seq and whose data is "
    "the entry as JSON. When the run has finished and its last entries are sent, an `end` "
    "event carries the run's status and the stream closes.",
    responses={
        200: {
            "content": {"text/event-stream": {"schema": SSE_EVENT}},
            "description": "the event stream: entries, then an `end` event",
        }
    },
)
def log_stream(
    request: Request,
    system: SystemDep,
    run_id: RunId,
    principal: Viewer,
    min_level: MinLevel = None,
    after: After = 0,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
) -> StreamingResponse:
    _check_run(request, run_id)
    if last_event_id is not None and last_event_id.strip():
        text = last_event_id.strip()
        if not text.isdigit() or int(text) > MAX_SEQ:
            raise InvalidInput("Last-Event-ID", "must be the seq of the last entry received")
        after = max(after, int(text))
    tokens = request.app.state.tokens
    return StreamingResponse(
        log_events(
            request,
            system,
            run_id,
            after=after,
            min_level=min_level,
            authorized=lambda: tokens.get(principal.token_id) is not None,
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
