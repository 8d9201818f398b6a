"""/healthz (no token needed) and /metrics (Prometheus text)."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from interfaces.health import Health, HealthCheck, kind_of
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
    summary="Whether the store, the views and this process's loops are well (no token needed)",
    description="200 when the store answers, the views keep up and every loop of this "
    "process (scheduler, workers, projections) works; otherwise 503 naming each problem "
    "(store unreachable, disk full, projections behind and not moving, a loop failing). "
    "Answers within 2 s whatever the database does; concurrent checks share one probe.",
    responses={503: {"model": schemas.Health, "description": "something is down; see problems"}},
)
async def healthz(request: Request) -> Response:
    # Async, and waiting on the one shared probe: a hanging database never ties up the
    # thread pool that the pages and the API need.
    check: HealthCheck = request.app.state.health
    answer, budget = check.probe_future()
    probe = None
    if isinstance(answer, Future):
        try:
            # shield: a caller that gives up must not cancel the probe the others share.
            probe = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(answer)), budget)
        except TimeoutError:
            probe = None
    else:
        probe = answer
    health = check.judge(probe)
    status = 200 if health.healthy else 503
    headers = None if health.healthy else {"Retry-After": "5"}
    return OrjsonResponse(_body(health), status_code=status, headers=headers)


def _body(health: Health) -> dict[str, object]:
    return {
        "status": "ok" if health.healthy else "unavailable",
        "store": health.store,
        "projections_behind": health.behind,
        "problems": health.problems,
        "loops": [
            {
                "name": state.name,
                "healthy": state.healthy,
                "failing_for_seconds": round(state.failing_for, 1),
                "cause": kind_of(state.cause),
            }
            for state in health.loops
        ],
    }


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics",
    description="Runs by status, projection lag, fire lag of recent scheduled runs, log "
    "entries recorded.",
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics(request: Request, system: SystemDep, _principal: Viewer) -> Response:
    check: HealthCheck = request.app.state.health
    text = render_metrics(system, now(request), check.check())
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")
