"""/healthz (no token needed) and /metrics (Prometheus text)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from interfaces.http import schemas
from interfaces.http.auth import Viewer
from interfaces.http.deps import SystemDep, now
from interfaces.http.metrics import render_metrics
from interfaces.http.responses import OrjsonResponse

router = APIRouter(tags=["operations"])
log = logging.getLogger("jobledger.http")


@router.get(
    "/healthz",
    response_model=schemas.Health,
    summary="Whether the service and its store answer (no token needed)",
    responses={503: {"model": schemas.Health, "description": "the store does not answer"}},
)
def healthz(system: SystemDep) -> Response:
    try:
        system.app.recorder.max_notification_id()
    except Exception:  # any failure to reach the store is "unavailable", and logged
        log.warning("health check: the store does not answer", exc_info=True)
        return OrjsonResponse({"status": "unavailable", "store": "unreachable"}, status_code=503)
    return OrjsonResponse({"status": "ok", "store": "reachable"})


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics",
    description="Runs by status, projection lag, fire lag of recent scheduled runs, log "
    "entries recorded.",
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics(request: Request, system: SystemDep, _principal: Viewer) -> Response:
    text = render_metrics(system, now(request))
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")
