"""/api/audit: the audit trail across all jobs, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response

from interfaces.http import schemas
from interfaces.http.auth import Viewer
from interfaces.http.deps import SystemDep
from interfaces.http.inputs import utc
from interfaces.http.present import history_entry
from interfaces.http.responses import OrjsonResponse
from interfaces.http.routes.common import Cursor, Limit

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get(
    "",
    response_model=schemas.AuditPage,
    summary="Who changed which job, when, from what to what",
    description="Filter by job, actor (e.g. token:admin) and time: `since` inclusive, "
    "`until` exclusive. Secrets appear by name only.",
)
def audit(
    system: SystemDep,
    _principal: Viewer,
    job_id: UUID | None = None,
    actor: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    items, next_cursor = system.audit.entries(
        job_id=job_id,
        actor=actor,
        since=utc(since, "since"),
        until=utc(until, "until"),
        limit=limit,
        cursor=cursor,
    )
    return OrjsonResponse(
        {"items": [history_entry(entry) for entry in items], "next_cursor": next_cursor}
    )
