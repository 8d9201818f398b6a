"""A run's log as Server-Sent Events: what is there, then what arrives, until the run ends.

The stream polls the logs view (a short interval: entries arrive in batches anyway) and
stops once the run has finished and every entry recorded before the finish is sent. The
runs view and the logs view advance separately, so "finished" in the runs view is trusted
only once the logs view has reached the same position in the event store.

A stream outlives the request that authenticated it, so it asks `authorized()` again every
`RECHECK_SECONDS` and ends as soon as the token (or the session's token) is revoked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import UUID

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from domain.run_status import FINISHED_STATUSES
from interfaces.bootstrap import System
from interfaces.http.responses import dumps

POLL_SECONDS = 0.2
HEARTBEAT_SECONDS = 15.0
# A client reconnects with Last-Event-ID, so no stream needs to live for ever.
MAX_STREAM_SECONDS = 3600.0
PAGE = 500
RECHECK_SECONDS = 1.0


def entry_event(entry: dict[str, Any]) -> bytes:
    return b"id: %d\ndata: %s\n\n" % (entry["seq"], dumps(entry))


def end_event(status: str) -> bytes:
    return b"event: end\ndata: %s\n\n" % dumps({"status": status})


class _RunLogFeed:
    """What a log stream reads: a page of the run's entries, and whether the run is over."""

    def __init__(self, system: System, run_id: UUID, min_level: str | None) -> None:
        self._logs, self._runs = system.logs, system.runs
        self._run_id, self._min_level = run_id, min_level

    def page(self, start: int) -> tuple[list[dict[str, Any]], int | None]:
        result: tuple[list[dict[str, Any]], int | None] = self._logs.entries(
            self._run_id, min_level=self._min_level, after=start, limit=PAGE
        )
        return result

    def finished_status(self) -> str | None:
        """The run's status if it has finished and the logs view has caught up with that."""
        run = self._runs.get_run(self._run_id)
        if run is None or run["status"] not in FINISHED_STATUSES:
            return None
        # Read after the row, so the position is at or past the run's final event (read
        # before, the view could move on in between and the last log batch be missed).
        position = self._runs.max_tracking_id("runs") or 0
        if (self._logs.max_tracking_id("logs") or 0) < position:
            return None
        return str(run["status"])


async def log_events(
    request: Request,
    system: System,
    run_id: UUID,
    *,
    after: int,
    min_level: str | None,
    authorized: Callable[[], bool] = lambda: True,
    poll: float = POLL_SECONDS,
    recheck: float = RECHECK_SECONDS,
) -> AsyncIterator[bytes]:
    feed = _RunLogFeed(system, run_id, min_level)
    page, finished_status = feed.page, feed.finished_status
    started = last_sent = checked = time.monotonic()
    while True:
        if time.monotonic() - checked >= recheck:
            if not await run_in_threadpool(authorized):
                return  # revoked: a reconnect is answered 401
            checked = time.monotonic()
        items, next_after = await run_in_threadpool(page, after)
        for entry in items:
            yield entry_event(entry)
            after = entry["seq"]
        if items:
            last_sent = time.monotonic()
        if next_after is not None:
            continue  # more pages right away
        status = await run_in_threadpool(finished_status)
        if status is not None:
            # Entries recorded before the finish are in the view now: send the rest.
            while True:
                items, next_after = await run_in_threadpool(page, after)
                for entry in items:
                    yield entry_event(entry)
                    after = entry["seq"]
                if next_after is None:
                    break
            yield end_event(status)
            return
        if await request.is_disconnected():
            return
        if time.monotonic() - started > MAX_STREAM_SECONDS:
            return
        if time.monotonic() - last_sent > HEARTBEAT_SECONDS:
            yield b": keep-alive\n\n"
            last_sent = time.monotonic()
        await asyncio.sleep(poll)
