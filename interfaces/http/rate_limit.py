"""Failed sign-ins per client address: after too many, further failures are answered 429.

A sliding window per address: each failed attempt (an unknown or revoked bearer token, a
wrong token on the sign-in page) is remembered with its time; once `limit` failures fall
within `window` seconds, every further failure from that address is refused with 429 and a
Retry-After of the seconds until the oldest of them leaves the window.

Only failures are limited. A valid token is still accepted from a limited address: tokens
are 256 random bits, so the limit is not what stops guessing; it keeps a client that
hammers with a bad token (a script with a revoked token, a scanner) from costing a lookup
and a log line per attempt unanswered, and answering 429 to a valid token would let anyone
behind the same address (a NAT, a proxy) lock out everyone else there.

The counts live in memory, in each process: `jobledger api --workers N` and each API
replica count separately, so an address may fail up to `limit` times in each. The address
is the one the server reports (uvicorn takes it from X-Forwarded-For only for proxies in
`--forwarded-allow-ips`).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

LIMIT = 10
WINDOW_SECONDS = 60.0
# Addresses remembered at most; the least recently failing are forgotten first.
MAX_ADDRESSES = 10_000


class TooManyFailures(Exception):
    """Too many failed sign-ins from this address: 429, retry after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins from this address; retry in {retry_after} s")
        self.retry_after = retry_after


class FailureLimiter:
    """Counts failed authentications per client address in a sliding window. Thread-safe."""

    def __init__(
        self,
        *,
        limit: int = LIMIT,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = MAX_ADDRESSES,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_addresses = max_addresses
        # The times of each address's last `limit` failures, oldest first.
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def failed(self, address: str) -> None:
        """Record a failure; raise TooManyFailures if `limit` came before it in the window."""
        now = self._clock()
        with self._lock:
            times = self._failures.pop(address, None)
            if times is None:
                times = deque(maxlen=self.limit)
            blocked = len(times) == self.limit and now - times[0] < self.window
            retry_after = times[0] + self.window - now if blocked else 0.0
            times.append(now)
            self._failures[address] = times
            while len(self._failures) > self._max_addresses:
                self._failures.popitem(last=False)
        if blocked:
            raise TooManyFailures(max(1, math.ceil(retry_after)))
