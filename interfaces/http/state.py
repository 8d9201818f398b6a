"""What routes share: the system, the clock, and read-your-writes after a command.

Commands write events; the views that queries read are brought up to date by a follower
(in this process under `serve`, in `projections run` processes otherwise). So that a page
loaded right after a change shows it, each command waits (briefly, bounded) until every
view has processed the event store as it stood after the command.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from fastapi import Request

from application.ports import Clock


def system_of(request: Request) -> Any:
    return request.app.state.system


def now(request: Request) -> datetime:
    clock: Clock = request.app.state.clock
    return clock.now()


def settle(request: Request) -> bool:
    """Wait until the views include every event stored so far (at most the app's
    `view_wait_seconds`). True if they do."""
    system = request.app.state.system
    timeout: float = request.app.state.view_wait_seconds
    return wait_for_views(system, timeout)


def wait_for_views(system: Any, timeout: float) -> bool:
    """Poll the views' recorded positions (so it works whichever process follows) until
    they reach the store's last notification, or `timeout` passes."""
    if timeout <= 0:
        return False
    target = system.app.recorder.max_notification_id() or 0
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        positions = system.follower.positions()
        if positions and min(positions.values()) >= target:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
