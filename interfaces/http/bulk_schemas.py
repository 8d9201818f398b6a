"""Request and response bodies of the bulk actions (/api/jobs/bulk, /api/runs/bulk-cancel)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from application.bulk_commands import MAX_IDS
from interfaces.http.schemas import Request, Response

# Ids arrive as JSON strings: strict mode would refuse a string for a UUID.
Ids = Annotated[
    list[Annotated[UUID, Field(strict=False)]],
    Field(
        min_length=1,
        max_length=MAX_IDS,
        description=f"1 to {MAX_IDS} ids; one named twice is acted on once",
    ),
]


class JobsBulk(Request):
    action: Literal["enable", "disable", "run", "delete"] = Field(
        description="enable, disable and delete need the admin role; run, the operator role"
    )
    job_ids: Ids


class RunsBulkCancel(Request):
    run_ids: Ids


class BulkResult(Response):
    id: UUID
    ok: bool
    status: int = Field(
        description="as the single action would answer: 200 done (202 for run), else its "
        "error's status (404 unknown or deleted, 409 refused, ...)"
    )
    detail: str | None = Field(description="why it was refused; None when done")
    run_id: UUID | None = Field(description="the run a `run` started")


class BulkResults(Response):
    action: str
    succeeded: int
    failed: int
    results: list[BulkResult]
