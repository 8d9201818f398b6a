"""/api/audit: the audit trail, newest first: who changed which job, who ran or cancelled
what, who got access. /api/audit.csv: the same, filtered alike, as a CSV download."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from interfaces.bootstrap import System
from interfaces.http import schemas
from interfaces.http.audit_csv import PAGE, audit_csv
from interfaces.http.auth import Viewer
from interfaces.http.deps import SystemDep
from interfaces.http.inputs import utc
from interfaces.http.present import audit_entry
from interfaces.http.responses import OrjsonResponse
from interfaces.http.routes.common import Cursor, Limit
from projections.audit import ACTIONS, parse_actions

router = APIRouter(prefix="/api/audit", tags=["audit"])

Actor = Annotated[
    str | None,
    Query(max_length=200, pattern=r"^[^\x00]*$", description="e.g. token:admin, cli:alice"),
]
Actions = Annotated[
    list[str] | None,
    Query(
        alias="action",
        description=f"any of {', '.join(ACTIONS)}; repeat it, or separate with commas",
    ),
]
FILTERS = (
    "Filter by job (its changes, and its runs' manual requests and cancellations), actor, "
    "action and time: `since` inclusive, `until` exclusive. Secrets never appear, tokens "
    "never: only their names."
)


def _filters(
    job_id: UUID | None,
    actor: str | None,
    action: list[str] | None,
    since: datetime | None,
    until: datetime | None,
) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "actor": actor,
        "actions": parse_actions(action or []),
        "since": utc(since, "since"),
        "until": utc(until, "until"),
    }


@router.get(
    "",
    response_model=schemas.AuditPage,
    summary="Who changed which job, who ran or cancelled what, who got access",
    description=FILTERS,
)
def audit(
    system: SystemDep,
    _principal: Viewer,
    job_id: UUID | None = None,
    actor: Actor = None,
    action: Actions = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    filters = _filters(job_id, actor, action, since, until)
    items, next_cursor = system.audit.entries(limit=limit, cursor=cursor, **filters)
    return OrjsonResponse(
        {"items": [audit_entry(entry) for entry in items], "next_cursor": next_cursor}
    )


@router.get(
    ".csv",
    response_class=StreamingResponse,
    summary="The audit trail as CSV, newest first, filtered like /api/audit",
    description=FILTERS + " Cells that a spreadsheet would read as a formula (starting "
    "with =, +, -, @) are prefixed with a single quote.",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def audit_as_csv(
    system: SystemDep,
    _principal: Viewer,
    job_id: UUID | None = None,
    actor: Actor = None,
    action: Actions = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Response:
    filters = _filters(job_id, actor, action, since, until)
    # The first page is read before answering: a store that is down is a 503, not a
    # download cut short after its header.
    first = system.audit.entries(limit=PAGE, **filters)
    return StreamingResponse(
        audit_csv(first, lambda cursor: _page(system, filters, cursor)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="jobledger-audit.csv"'},
    )


def _page(
    system: System, filters: dict[str, Any], cursor: str
) -> tuple[list[dict[str, Any]], str | None]:
    return system.audit.entries(limit=PAGE, cursor=cursor, **filters)
