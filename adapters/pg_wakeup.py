"""A wake-up driven by PostgreSQL's LISTEN/NOTIFY, so followers in other processes react
to new events at once instead of on their next poll.

eventsourcing's PostgreSQL recorder sends NOTIFY on a channel named after its events table
in the same transaction that inserts events; we listen on that channel.
"""

from __future__ import annotations

import threading

import psycopg
from psycopg import sql


class PostgresWakeup:
    """Waits for a NOTIFY on the events channel (or a local `set`, or the timeout)."""

    def __init__(self, conninfo: str, channel: str) -> None:
        self._conninfo = conninfo
        self._channel = channel
        self._local = threading.Event()
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def __repr__(self) -> str:
        return f"PostgresWakeup(channel={self._channel!r})"

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            # Bounded: while the database is away a loop polls instead of hanging here.
            self._conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
            self._conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        return self._conn

    def wait(self, timeout: float) -> None:
        if self._local.is_set():
            self._local.clear()
            return
        try:
            # Slice the wait so a local `set` is noticed within 50 ms.
            remaining = timeout
            while remaining > 0 and not self._local.is_set():
                step = min(0.05, remaining)
                for _ in self._connection().notifies(timeout=step, stop_after=1):
                    return
                remaining -= step
        except psycopg.OperationalError:
            # Lost the connection: fall back to polling; reconnect on the next wait.
            self.close()
            self._local.wait(timeout)
        self._local.clear()

    def set(self) -> None:
        self._local.set()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
