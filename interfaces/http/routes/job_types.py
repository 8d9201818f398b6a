"""/api/job-types: what kinds of job this installation runs, with their program schemas, and
whether a live worker can run each (`available`, else `reason`)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from interfaces.http import schemas
from interfaces.http.auth import Viewer
from interfaces.http.deps import SystemDep
from interfaces.http.responses import OrjsonResponse

router = APIRouter(prefix="/api/job-types", tags=["job types"])


@router.get("", response_model=schemas.JobTypes, summary="The job types and their schemas")
def job_types(system: SystemDep, _principal: Viewer) -> Response:
    catalog = system.app.job_types
    availability = system.job_type_availability()
    items = [
        {
            "name": item["name"],
            "description": item["description"],
            "program_schema": item["program_schema"],
            "available": availability[item["name"]].available,
            "reason": availability[item["name"]].reason,
        }
        for item in catalog.describe()
    ]
    return OrjsonResponse({"items": items})
