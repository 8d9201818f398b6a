"""Which workers are alive, told by PostgreSQL session advisory locks.

Each worker process holds, on a connection of its own, a session-level advisory lock keyed
on its worker id for as long as it lives. When the process dies (SIGKILL, a crash, a lost
machine) its session ends and PostgreSQL releases the lock. Any other worker can then take
that lock with `pg_try_advisory_lock`: if it can, the worker is gone and its runs are
abandoned. Nothing home-made (heartbeats, leases) stands in for what PostgreSQL does.

A machine that vanishes without closing its TCP connection is noticed through TCP
keepalives, which this session asks the server for (about 20 s), so its runs are still
abandoned within the 30 s the product promises.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading

import psycopg

# Server-side TCP keepalives for the lock's session: idle 5 s, then 3 probes 5 s apart.
KEEPALIVE = (
    "SET tcp_keepalives_idle = 5",
    "SET tcp_keepalives_interval = 5",
    "SET tcp_keepalives_count = 3",
)


def lock_key(worker_id: str) -> int:
    """A signed 64-bit advisory lock key for a worker id (a collision needs ~2**32 workers)."""
    digest = hashlib.sha256(f"jobledger-worker:{worker_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresLiveness:
    """Holds this worker's lock; tries other workers' locks to see whether they are gone."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._worker_id: str | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PostgresLiveness(worker={self._worker_id!r})"

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        conn = psycopg.connect(
            self._conninfo,
            autocommit=True,
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=5,
            keepalives_count=3,
            application_name="jobledger-worker-liveness",
        )
        for statement in KEEPALIVE:
            # A session over a Unix socket has no TCP keepalives to set.
            with contextlib.suppress(psycopg.Error):
                conn.execute(statement)
        return conn

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        """The lock's session; if it was lost, reconnect and take our lock again."""
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = self._connect()
            if self._worker_id is not None:
                row = self._conn.execute(
                    "SELECT pg_try_advisory_lock(%s)", (lock_key(self._worker_id),)
                ).fetchone()
                if not (row and row[0]):
                    raise RuntimeError(f"worker id {self._worker_id} is held by another session")
        return self._conn

    def hold(self, worker_id: str) -> None:
        with self._lock:
            self._worker_id = None
            conn = self._connection()
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(worker_id),)).fetchone()
            if not (row and row[0]):
                self._close()
                raise RuntimeError(f"worker id {worker_id} is already in use")
            self._worker_id = worker_id

    def is_gone(self, worker_id: str) -> bool:
        if worker_id == self._worker_id:
            return False  # our own lock is re-entrant: it would say "gone"
        key = lock_key(worker_id)
        with self._lock:
            try:
                conn = self._connection()
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
                if row and row[0]:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
                    return True
                return False
            except psycopg.OperationalError:
                # We cannot tell: say alive. A reaper that cannot reach the database must
                # not abandon anything.
                self._close()
                return False

    def check(self) -> None:
        """Make sure our lock is still held (re-taken after a lost connection)."""
        with self._lock:
            try:
                self._connection().execute("SELECT 1")
            except psycopg.OperationalError:
                self._close()
                self._connection()

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def release(self) -> None:
        with self._lock:
            self._worker_id = None
            self._close()
