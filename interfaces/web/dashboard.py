"""The dashboard at `/`: what is running, what failed or was missed in the last day, what is
due in the next hour, the job types no worker can run, and runs per hour; kept live by
Server-Sent Events from `/dashboard/events`, which sends the re-rendered live part whenever
the runs or jobs views move (and once a minute, as time moves the windows)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from domain.access import Principal
from interfaces.web.auth import Viewer
from interfaces.web.common import now, system
from interfaces.web.dashboard_data import LISTED, Dashboard, elapsed_words, gather
from interfaces.web.render import ENV, SECURITY_HEADERS, render
from interfaces.web.session import csrf_token, principal_from_session
from interfaces.web.svg_bars import bar_chart, legend

router = APIRouter(include_in_schema=False)

POLL_SECONDS = 0.5
RECHECK_SECONDS = 5.0  # a revoked token or a signed-out session ends the stream this soon
HEARTBEAT_SECONDS = 15.0
MAX_STREAM_SECONDS = 3600.0  # EventSource reconnects by itself


def _parts(board: Dashboard) -> dict[str, Any]:
    return {
        "board": board,
        "chart": bar_chart,
        "legend": legend(),
        "listed": LISTED,
        "elapsed_words": elapsed_words,
    }


# The jobs page's filter parameters: links and bookmarks from when the jobs list was at "/".
JOBS_PAGE_PARAMETERS = {"q", "name", "folder", "tag", "status", "enabled", "type", "sort"}
JOBS_PAGE_PARAMETERS |= {"cursor", "page"}


@router.get("/")
def dashboard(request: Request, principal: Principal = Viewer) -> Response:
    if JOBS_PAGE_PARAMETERS.intersection(request.query_params.keys()):
        return RedirectResponse(f"/jobs?{request.url.query}", status_code=303)
    board = gather(system(request), now(request))
    return render(request, "dashboard.html", _parts(board))


def _version(request: Request) -> tuple[Any, ...]:
    """What changes when the dashboard may: the runs and jobs views' positions, the minute."""
    found = system(request)
    minute = int(now(request).timestamp() // 60)
    return (
        found.runs.max_tracking_id("runs"),
        found.jobs.max_tracking_id("jobs"),
        minute,
    )


class SharedBoard:
    """The last board gathered, by the version it was gathered at: every stream open on the
    dashboard wants the same one after a change, so the views are read once, not per viewer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._board: Dashboard | None = None

    def get(self, request: Request, version: tuple[Any, ...]) -> Dashboard:
        key = (id(system(request)), *version)
        with self._lock:  # one stream gathers; the others wait for its board
            if self._key != key or self._board is None:
                self._board = gather(system(request), now(request))
                self._key = key
            return self._board.at(now(request))


SHARED = SharedBoard()


def _fragment(
    request: Request, principal: Principal, token: str, version: tuple[Any, ...]
) -> bytes:
    board = SHARED.get(request, version)
    html = ENV.get_template("dashboard_live.html").render(
        principal=principal, csrf_token=token, **_parts(board)
    )
    return b"event: dashboard\ndata: %s\n\n" % orjson.dumps({"html": html})


async def dashboard_events(
    request: Request,
    principal: Principal,
    token: str,
    signed_in: Callable[[], bool],
    poll: float = POLL_SECONDS,
) -> AsyncIterator[bytes]:
    started = checked = last_sent = time.monotonic()
    seen: tuple[Any, ...] | None = None
    while True:
        if time.monotonic() - checked >= RECHECK_SECONDS:
            if not await run_in_threadpool(signed_in):
                return
            checked = time.monotonic()
        version = await run_in_threadpool(_version, request)
        if version != seen:
            seen = version
            yield await run_in_threadpool(_fragment, request, principal, token, version)
            last_sent = time.monotonic()
        elif time.monotonic() - last_sent > HEARTBEAT_SECONDS:
            yield b": keep-alive\n\n"
            last_sent = time.monotonic()
        if await request.is_disconnected() or time.monotonic() - started > MAX_STREAM_SECONDS:
            return
        await asyncio.sleep(poll)


@router.get("/dashboard/events")
def dashboard_stream(request: Request) -> Response:
    # Not the pages' Viewer dependency: an EventSource cannot follow a sign-in redirect, so
    # a stream without a session is a plain 401 (and the page says so).
    principal = principal_from_session(request)
    if principal is None:
        return Response("sign in first", status_code=401, headers=SECURITY_HEADERS)
    return StreamingResponse(
        dashboard_events(
            request,
            principal,
            csrf_token(request),
            lambda: principal_from_session(request) is not None,
        ),
        media_type="text/event-stream",
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
