"""What one notifier has done since it started, for /metrics: its attempts' outcomes and
the latency of its last delivery. Process-local counters (the event log holds the full
record): cheap to keep, and reset when the process restarts."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from domain.delivery import DELIVERED, GIVEN_UP, Delivery

OUTCOMES = ("delivered", "retrying", "given_up")


class DeliveryStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(OUTCOMES, 0)
        self._last_latency: float | None = None

    def record(self, delivery: Delivery, now: datetime) -> None:
        """One attempt's outcome, from the delivery just after it was recorded."""
        with self._lock:
            if delivery.status == DELIVERED:
                self._counts["delivered"] += 1
                # From the request (a run's end, a test asked for) to the receiver's answer.
                self._last_latency = max(0.0, (now - delivery.requested_at).total_seconds())
            elif delivery.status == GIVEN_UP:
                self._counts["given_up"] += 1
            else:
                self._counts["retrying"] += 1

    def figures(self) -> dict[str, Any]:
        with self._lock:
            return {"attempts": dict(self._counts), "last_latency_seconds": self._last_latency}
