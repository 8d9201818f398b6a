"""How soon a PostgreSQL pool reconnects after the database comes back.

psycopg_pool replaces a lost connection in the background, retrying with a delay that starts
at 1 s and doubles without a cap: after an outage of a minute its next try could come a
minute after the database is back. The same delays separate its checks of pooled connections
(pre-ping), so after a restart a pool of twelve dead connections took seconds to hand out a
live one, a growing sleep per dead connection. The pool offers no setting for either
(psycopg-pool 3.3), so its attempt class is replaced, once per process, by one that starts
at 20 ms and never waits more than a second: dead connections are skipped almost at once,
and a pool is back within about a second of the database.
"""

from __future__ import annotations

import psycopg_pool.pool as pool_module
from psycopg_pool.base import AttemptWithBackoff

MAX_DELAY_SECONDS = 1.0


class CappedAttempt(AttemptWithBackoff):
    """psycopg_pool's reconnection attempt, with a short first delay and a cap."""

    INITIAL_DELAY = 0.02

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, MAX_DELAY_SECONDS)


def reconnect_promptly() -> None:
    """Install the capped attempt in psycopg_pool (idempotent)."""
    pool_module.AttemptWithBackoff = CappedAttempt  # type: ignore[misc]
