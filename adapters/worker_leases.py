"""Which workers are alive, told by leases in PostgreSQL that each worker renews.

A worker holds a lease row (`jobledger_worker_leases`) whose expiry it pushes forward every
few seconds. Other workers abandon its runs only once that expiry has passed by a grace
period, measured on the database's clock, so clocks of different machines never matter. A
database restart therefore costs nothing: the rows survive it, and a worker that reconnects
before its lease runs out keeps its runs. (Session advisory locks, used before, are all
dropped by a restart, which made every live worker look dead.) The other half of the
promise is the worker's: one that cannot renew stops its own runs before its lease expires
(see engine.lease_keeper), so no run ever has two executors.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterable
from datetime import timedelta

import psycopg
from psycopg import sql

from adapters.postgres_setup import setup_lock
from domain.errors import Conflict

TABLE = "jobledger_worker_leases"


def create_leases_table(schema: str) -> sql.Composed:
    """The DDL of the lease table (also run by the capability records, which join it)."""
    return sql.SQL(
        "CREATE TABLE IF NOT EXISTS {} (worker_id text PRIMARY KEY, "
        "expires_at timestamptz NOT NULL, renewed_at timestamptz NOT NULL)"
    ).format(sql.Identifier(schema, TABLE))


class LeaseLost(Conflict):
    """Our lease row is gone: another worker took us for dead long ago."""


class PostgresWorkerLeases:
    """This worker's lease, and the expiry of the others'; one connection of its own."""

    def __init__(
        self,
        conninfo: str,
        schema: str = "public",
        *,
        lease: timedelta = timedelta(seconds=15),
        grace: timedelta = timedelta(seconds=30),
        connect_timeout: int = 3,
        operation_timeout: float = 3.0,
    ) -> None:
        self._conninfo = conninfo
        self._schema = schema
        self._table = sql.Identifier(schema, TABLE)
        self.lease = lease
        self.grace = grace
        self._connect_timeout = connect_timeout
        self._operation_timeout = operation_timeout
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._worker_id: str | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PostgresWorkerLeases(worker={self._worker_id!r})"

    def create_table(self) -> None:
        # Under the schema's set-up lock, in one transaction: workers starting together
        # would otherwise race on the table's type (see adapters.postgres_setup).
        with self._lock, self._connection().transaction() as tx:
            tx.connection.execute(setup_lock(self._schema))
            tx.connection.execute(create_leases_table(self._schema))

    def hold(self, worker_id: str) -> None:
        """Take a lease for `worker_id`; refused while a live worker holds that id."""
        with self._lock:
            row = self._execute(
                sql.SQL(
                    "INSERT INTO {t} AS l (worker_id, expires_at, renewed_at) "
                    "VALUES (%s, now() + %s, now()) ON CONFLICT (worker_id) DO UPDATE "
                    "SET expires_at = EXCLUDED.expires_at, renewed_at = now() "
                    "WHERE l.expires_at < now() RETURNING 1"
                ).format(t=self._table),
                (worker_id, self.lease),
            )
            if row is None:
                self._close()
                raise Conflict(f"worker id {worker_id} is already in use")
            self._worker_id = worker_id

    def renew(self) -> None:
        """Push our lease's expiry forward. Raises if the database cannot be reached (the
        caller fences itself if that goes on), or LeaseLost if our row is gone."""
        with self._lock:
            worker_id = self._worker_id
            if worker_id is None:
                return
            row = self._execute(
                sql.SQL(
                    "UPDATE {} SET expires_at = now() + %s, renewed_at = now() "
                    "WHERE worker_id = %s RETURNING 1"
                ).format(self._table),
                (self.lease, worker_id),
            )
            if row is None:
                raise LeaseLost(f"the lease of worker {worker_id} is gone")

    def expired(self, worker_ids: Iterable[str]) -> set[str]:
        """Of these workers, those whose lease expired more than the grace period ago, or
        that hold none (they stopped and released it). Raises when the database cannot be
        reached: a reaper that cannot tell must not abandon anything."""
        wanted = sorted(set(worker_ids) - {self._worker_id})
        if not wanted:
            return set()
        with self._lock:
            rows = self._fetchall(
                sql.SQL(
                    "SELECT worker_id FROM {} WHERE worker_id = ANY(%s) "
                    "AND expires_at + %s >= now()"
                ).format(self._table),
                (wanted, self.grace),
            )
        alive = {str(row[0]) for row in rows}
        return set(wanted) - alive

    def release(self) -> None:
        """Give the lease up (a clean stop, after the worker's runs were recorded)."""
        with self._lock:
            worker_id, self._worker_id = self._worker_id, None
            if worker_id is not None:
                with contextlib.suppress(psycopg.Error):
                    self._execute(
                        sql.SQL("DELETE FROM {} WHERE worker_id = %s").format(self._table),
                        (worker_id,),
                    )
            self._close()

    def close(self) -> None:
        with self._lock:
            self._close()

    # One connection, replaced whenever it breaks -----------------------------------------

    def _execute(self, query: sql.Composed, params: tuple[object, ...] = ()) -> object:
        rows = self._fetchall(query, params)
        return rows[0] if rows else None

    def _fetchall(
        self, query: sql.Composed, params: tuple[object, ...]
    ) -> list[tuple[object, ...]]:
        conn = self._connection()
        # A partition that swallows bytes leaves a query waiting for ever (TCP sees no
        # loss when a proxy or a NAT acknowledges them): cut the socket after the timeout.
        timer = threading.Timer(self._operation_timeout, _interrupt, (conn,))
        timer.daemon = True
        timer.start()
        try:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []
        except psycopg.Error:
            self._close()
            raise
        finally:
            timer.cancel()

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(
                self._conninfo,
                autocommit=True,
                connect_timeout=self._connect_timeout,
                # A partition must fail a renewal in seconds, not at TCP's 15-minute timeout.
                keepalives=1,
                keepalives_idle=2,
                keepalives_interval=2,
                keepalives_count=2,
                options="-c statement_timeout=3000",
                application_name="jobledger-worker-lease",
            )
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None


def _interrupt(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Wake a query blocked on a silent socket: shutting the socket down makes its read
    return, and psycopg raises OperationalError in the waiting thread."""
    with contextlib.suppress(OSError, psycopg.Error):
        duplicate = socket.socket(fileno=os.dup(conn.pgconn.socket))
        try:
            duplicate.shutdown(socket.SHUT_RDWR)
        finally:
            duplicate.close()
