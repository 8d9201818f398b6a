"""How a long-running loop rides out a store it cannot reach: log once, back off, say so.

The scheduler, the workers and the projection follower all follow the event store in a loop.
When the database restarts, its disk fills or the network drops, every pass fails until it
comes back; a loop that logged a traceback per pass would bury the one line that matters, and
one that gave up would leave the process alive but useless. Each loop therefore keeps an
`Outage`: the first failure is logged once with its cause, later ones only counted, the wait
before the next try grows to a cap, and the recovery is logged with how long it lasted.
`/healthz` and `/metrics` read the same object, so the service says what is down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

FIRST_WAIT_SECONDS = 0.25
MAX_WAIT_SECONDS = 2.0


@dataclass(frozen=True)
class LoopState:
    """What one loop reports: healthy, or failing since some seconds with a short cause."""

    name: str
    healthy: bool
    failing_for: float = 0.0
    failures: int = 0
    cause: str = ""


class Outage:
    """The failure state of one loop; thread-safe. See the module docstring."""

    def __init__(
        self,
        name: str,
        logger: logging.Logger,
        *,
        first_wait: float = FIRST_WAIT_SECONDS,
        max_wait: float = MAX_WAIT_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._log = logger
        self._first_wait = first_wait
        self._max_wait = max_wait
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._since: float | None = None
        self._failures = 0
        self._cause = ""

    def failed(self, error: BaseException) -> float:
        """Record a failed pass; returns how long to wait before the next try."""
        cause = describe(error)
        with self._lock:
            self._failures += 1
            first = self._since is None
            if first:
                self._since = self._monotonic()
            self._cause = cause
            failures = self._failures
        if first:
            # One line with the cause; the traceback only at debug level, for developers.
            self._log.error(
                "%s: the store failed (%s); retrying until it answers", self.name, cause
            )
            self._log.debug("%s: first failure", self.name, exc_info=error)
        return min(self._max_wait, self._first_wait * 2 ** min(failures - 1, 16))

    def succeeded(self) -> None:
        """Record a pass that reached the store: ends an outage, if there was one."""
        if self._since is None:  # the common case, without the lock
            return
        with self._lock:
            since, failures = self._since, self._failures
            self._since, self._failures, self._cause = None, 0, ""
        if since is not None:
            lasted = self._monotonic() - since
            self._log.warning(
                "%s: the store answers again after %.1f s (%d failed tries)",
                self.name,
                lasted,
                failures,
            )

    def state(self) -> LoopState:
        with self._lock:
            if self._since is None:
                return LoopState(self.name, healthy=True)
            return LoopState(
                self.name,
                healthy=False,
                failing_for=self._monotonic() - self._since,
                failures=self._failures,
                cause=self._cause,
            )


def describe(error: BaseException) -> str:
    """A one-line cause, without a traceback (and short: it goes into /healthz)."""
    text = " ".join(str(error).split()) or type(error).__name__
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{type(error).__name__}: {text}"
