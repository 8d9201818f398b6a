"""Calls per webhook trigger: past `limit` accepted-for-checking calls in a sliding window of
`window` seconds, further calls are answered 429 with a Retry-After.

Counted only after the caller proved the token, so nobody without it can use up a
trigger's allowance (wrong tokens are counted per client address by
`interfaces.http.rate_limit`, as failed sign-ins are). The counts live in memory, in each
process: behind several API processes a trigger may be called up to `limit` times in each.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

LIMIT = 60
WINDOW_SECONDS = 60.0
MAX_TRIGGERS = 10_000  # triggers remembered at most; the least recently called are forgotten


class TooManyCalls(Exception):
    """Too many calls to one trigger: 429, retry after `retry_after` seconds."""

    def __init__(self, retry_after: int, limit: int, window: float) -> None:
        super().__init__(
            f"this trigger was called {limit} times in the last {window:g} s, its limit; "
            f"retry in {retry_after} s"
        )
        self.retry_after = retry_after


class CallLimiter:
    """Counts calls per key (a trigger id) in a sliding window. Thread-safe."""

    def __init__(
        self,
        *,
        limit: int = LIMIT,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_TRIGGERS,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._calls: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def called(self, key: str) -> None:
        """Count a call; raise TooManyCalls (not counting it) if `limit` calls came within
        the window before it."""
        now = self._clock()
        with self._lock:
            times = self._calls.pop(key, None)
            if times is None:
                times = deque(maxlen=self.limit)
            blocked = len(times) == self.limit and now - times[0] < self.window
            retry_after = times[0] + self.window - now if blocked else 0.0
            if not blocked:
                times.append(now)
            self._calls[key] = times
            while len(self._calls) > self._max_keys:
                self._calls.popitem(last=False)
        if blocked:
            raise TooManyCalls(max(1, math.ceil(retry_after)), self.limit, self.window)
