"""What routes get from the app, typed: the System as the `Annotated` dependency
`SystemDep` (a route names it in its signature; a test may override `get_system`), the
token store and the clock; and read-your-writes after a command.

`create_app` puts the built System, the token store and the clock on the app.

Commands write events; the views that queries read are brought up to date by a follower
(in this process under `serve`, in `projections run` processes otherwise). So that a page
loaded right after a change shows it, each command waits (briefly, bounded) until every
view has processed the event store as it stood after the command.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from application.ports import Clock, TokenStore
from interfaces.bootstrap import System


def get_system(request: Request) -> System:
    """The built System (interfaces.bootstrap) that `create_app` was given."""
    system: System = request.app.state.system
    return system


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_tokens(request: Request) -> TokenStore:
    tokens: TokenStore = request.app.state.tokens
    return tokens


SystemDep = Annotated[System, Depends(get_system)]


def now(request: Request) -> datetime:
    return get_clock(request).now()


def settle(request: Request) -> bool:
    """Wait until the views include every event stored so far (at most the app's
    `view_wait_seconds`). True if they do."""
    timeout: float = request.app.state.view_wait_seconds
    return wait_for_views(get_system(request), timeout)


def wait_for_views(system: System, timeout: float) -> bool:
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
