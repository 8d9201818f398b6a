"""/api/runs/{id}/log-archive: the gzip copy retention made of a run's log before deleting
it (JOBLEDGER_ARCHIVE_DIR), for administrators only: a log may hold what a job printed."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse

from adapters.log_archive import FileLogArchive
from domain.errors import NotFound
from interfaces.bootstrap import System
from interfaces.http.auth import Admin
from interfaces.http.deps import SystemDep

router = APIRouter(prefix="/api/runs", tags=["runs"])


def archive_of(system: System, run_id: UUID) -> FileLogArchive | None:
    """The archive holding the run's log, if archiving is on and it holds one."""
    directory = system.settings.retention.archive_dir
    if directory is None:
        return None
    archive = FileLogArchive(directory)
    return archive if archive.find(run_id) is not None else None


@router.get(
    "/{run_id}/log-archive",
    response_class=FileResponse,
    summary="Download a run's archived log (administrators)",
    description="The gzip-compressed text the retention sweep wrote before deleting the "
    "run's log, one line per entry (time, level, message); 404 when there is none.",
    responses={200: {"content": {"application/gzip": {}}}},
)
def download_log_archive(
    system: SystemDep, run_id: Annotated[UUID, Path()], _principal: Admin
) -> FileResponse:
    archive = archive_of(system, run_id)
    if archive is None:
        raise NotFound("log archive", run_id)
    return FileResponse(
        archive.path_for(run_id),
        media_type="application/gzip",
        filename=f"run-{run_id}.log.gz",
    )
