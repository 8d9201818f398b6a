"""Read-your-writes for pages that read views right after a command changed the events.

Views are updated from the events a moment after a command saves them. A page that
redirects after a change names the version (or the thing) it must show, and the next
page waits, briefly and with a deadline, until the view has caught up with it. The page
then never shows the state from before the user's own change.

Only such a page waits. A link, a bookmark or a mistyped id names nothing the user has just
written, so it is answered from the view at once: an unknown id is a 404 straight away,
not a request thread held for the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

DEADLINE_SECONDS = 5.0
_POLL_SECONDS = 0.02


def wait_for(read: Callable[[], T], ready: Callable[[T], bool]) -> T:
    """Read until `ready(value)` or the deadline passes; the last value read either way."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    value = read()
    while not ready(value) and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
        value = read()
    return value


def read_after_write(read: Callable[[], T], ready: Callable[[T], bool], *, wait: bool) -> T:
    """`wait_for` when the page was reached from the user's own change, else one read."""
    return wait_for(read, ready) if wait else read()


def wanted_version(raw: str | None) -> int:
    """The `v` query parameter: the version a page must show at least (0 when absent)."""
    try:
        return max(0, int(raw or 0))
    except ValueError:
        return 0
