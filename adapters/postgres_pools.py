"""How JobLedger's PostgreSQL connection pools behave after the database restarts.

psycopg_pool (3.3) has two habits that a restart makes costly, and no setting for either, so
both are adjusted once per process, before any pool exists (`tune_pools`):

- It replaces a lost connection in the background, retrying with a delay that starts at 1 s
  and doubles without a cap: after an outage of a minute its next try could come a minute
  after the database is back. The same delays separate its checks of pooled connections,
  so a pool of twelve dead connections took seconds to hand out a live one. Its attempt
  class is replaced by one that starts at 20 ms and never waits more than a second.
- Its pre-ping check (`check_connection`) costs a round trip on every checkout, a third of
  the API's time for a one-row query. A connection that the server closed, as every
  connection is on a restart, has the server's goodbye (or the end of the stream) waiting
  on its socket; so the check first asks the socket, which costs no round trip, and only
  does the real check when something is waiting there. A partition that swallows bytes is
  not seen this way; nothing short of a timeout sees it, and the loops have their own.
"""

from __future__ import annotations

import select

import psycopg
import psycopg_pool.pool as pool_module
from psycopg_pool import ConnectionPool
from psycopg_pool.base import AttemptWithBackoff

MAX_DELAY_SECONDS = 1.0
_round_trip_check = ConnectionPool.check_connection


class CappedAttempt(AttemptWithBackoff):
    """psycopg_pool's reconnection attempt, with a short first delay and a cap."""

    INITIAL_DELAY = 0.02

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, MAX_DELAY_SECONDS)


def check_idle_connection(conn: psycopg.Connection[object]) -> None:
    """Raise if a pooled connection is dead; a round trip only when its socket says so."""
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the connection is closed")
    readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
    if readable:  # an idle connection with input: the server closed it, or a notice came
        _round_trip_check(conn)


def tune_pools() -> None:
    """Install both adjustments in psycopg_pool (idempotent)."""
    pool_module.AttemptWithBackoff = CappedAttempt  # type: ignore[misc]
    ConnectionPool.check_connection = staticmethod(check_idle_connection)  # type: ignore[method-assign,assignment]
