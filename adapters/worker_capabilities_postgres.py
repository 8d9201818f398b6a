"""Which job types each live worker can run, in PostgreSQL, beside the workers' leases.

A row per (worker, job type), written by the worker at its start and deleted at its stop;
a row counts only while its worker's lease (`jobledger_worker_leases`) has not expired, so a
worker that dies stops counting when its lease does, with no clean-up needed first. Rows,
not events: a capability is a fact about a running process, true only while it lives, and
worth nothing in the history of jobs and runs; the lease's heartbeat already says which
processes live, and a join with it is all "live" needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from adapters.postgres_setup import setup_lock
from adapters.worker_leases import TABLE as LEASES
from adapters.worker_leases import create_leases_table
from engine.ports import Capability
from jobtypes import Availability

TABLE = "jobledger_worker_capabilities"


class PostgresWorkerCapabilities:
    """engine.ports.WorkerCapabilities in `<schema>.jobledger_worker_capabilities`."""

    def __init__(self, conninfo: str, schema: str = "public") -> None:
        self._conninfo = conninfo
        self._schema = schema
        self._names = {
            "caps": sql.Identifier(schema, TABLE),
            "leases": sql.Identifier(schema, LEASES),
        }
        # Used at a worker's start and stop, by its reaper while runs wait, and by the API's
        # job pages: no connection held while idle. Checked before use (database restarts).
        self._pool: ConnectionPool[Any] = ConnectionPool(
            conninfo,
            min_size=0,
            max_size=2,
            open=True,
            name="jobledger-capabilities",
            kwargs={"autocommit": True},
            check=ConnectionPool.check_connection,
            max_idle=60.0,
            timeout=3.0,
        )

    def __repr__(self) -> str:
        return f"PostgresWorkerCapabilities(schema={self._schema!r})"

    def _q(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(**self._names)

    def create_table(self) -> None:
        # A connection of its own, closed at once: every process creates the table at start,
        # and most (schedulers, projections) never use the pool after it.
        with psycopg.connect(self._conninfo, autocommit=True) as conn, conn.transaction():
            conn.execute(setup_lock(self._schema))  # see adapters.postgres_setup
            # `live` joins the leases, which may not exist yet if no worker ever started.
            conn.execute(create_leases_table(self._schema))
            conn.execute(
                self._q(
                    "CREATE TABLE IF NOT EXISTS {caps} (worker_id text NOT NULL, "
                    "job_type text NOT NULL, available boolean NOT NULL, reason text, "
                    "detail text, probed_at timestamptz NOT NULL DEFAULT now(), "
                    "PRIMARY KEY (worker_id, job_type))"
                )
            )

    def record(self, worker_id: str, capabilities: Mapping[str, Availability]) -> None:
        rows = [
            (worker_id, name, found.available, found.reason, found.detail)
            for name, found in sorted(capabilities.items())
        ]
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(self._q("DELETE FROM {caps} WHERE worker_id = %s"), (worker_id,))
            # Workers whose lease expired an hour ago are gone: keep the table small.
            conn.execute(
                self._q(
                    "DELETE FROM {caps} c WHERE NOT EXISTS (SELECT 1 FROM {leases} l "
                    "WHERE l.worker_id = c.worker_id "
                    "AND l.expires_at > now() - interval '1 hour')"
                )
            )
            with conn.cursor() as cursor:
                cursor.executemany(
                    self._q(
                        "INSERT INTO {caps} (worker_id, job_type, available, reason, detail) "
                        "VALUES (%s, %s, %s, %s, %s)"
                    ),
                    rows,
                )

    def live(self) -> list[Capability]:
        with self._pool.connection() as conn:
            found = conn.execute(
                self._q(
                    "SELECT c.worker_id, c.job_type, c.available, c.reason, c.detail "
                    "FROM {caps} c JOIN {leases} l ON l.worker_id = c.worker_id "
                    "WHERE l.expires_at >= now() ORDER BY c.worker_id, c.job_type"
                )
            ).fetchall()
        return [Capability(*row) for row in found]

    def forget(self, worker_id: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(self._q("DELETE FROM {caps} WHERE worker_id = %s"), (worker_id,))

    def close(self) -> None:
        self._pool.close()
