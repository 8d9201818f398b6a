"""The scheduler's durable watermark, in the same store as the events.

One row per scheduler group: "every slot at or before `handled_until` has been recorded".
Schedulers write it after each batch commits, only ever forward (several schedulers share
the row; any one of them handling an instant handled it for all, since each fires every
job). A restarted scheduler reads it to know which slots it missed. It is a hint, not the
record: losing it at worst re-fires slots, which collide on their name-based run ids.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from adapters.postgres_setup import setup_lock

TABLE = "jobledger_scheduler_checkpoint"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(instant: datetime) -> int:
    return (instant - _EPOCH) // timedelta(microseconds=1)


class SQLiteSchedulerCheckpoint:
    """The watermark in a table of the embedded SQLite database, as epoch microseconds."""

    def __init__(self, path: str | Path, name: str = "default") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(path), isolation_level=None, timeout=30, check_same_thread=False
        )
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} "
            "(name TEXT PRIMARY KEY, handled_until INTEGER NOT NULL)"
        )

    def load(self) -> datetime | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT handled_until FROM {TABLE} WHERE name = ?", (self._name,)
            ).fetchone()
        return None if row is None else _EPOCH + timedelta(microseconds=row[0])

    def save(self, handled_until: datetime) -> None:
        with self._lock:
            self._conn.execute(
                f"INSERT INTO {TABLE} (name, handled_until) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET "
                "handled_until = MAX(handled_until, excluded.handled_until)",
                (self._name, _micros(handled_until)),
            )

    def close(self) -> None:
        self._conn.close()


class PostgresSchedulerCheckpoint:
    """The watermark in a table of the store's PostgreSQL schema."""

    def __init__(self, conninfo: str, schema: str, name: str = "default") -> None:
        self._conninfo = conninfo
        self._name = name
        self._lock = threading.Lock()
        self._table = sql.Identifier(schema, TABLE)
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        conn = self._connection()
        # Two schedulers starting at once race CREATE TABLE IF NOT EXISTS (it can fail on
        # the catalog's unique index): the same set-up lock as the event store's.
        with conn.transaction():
            conn.execute(setup_lock(schema))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} "
                    "(name TEXT PRIMARY KEY, handled_until TIMESTAMPTZ NOT NULL)"
                ).format(self._table)
            )

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._conninfo, autocommit=True)
        return self._conn

    def load(self) -> datetime | None:
        with self._lock:
            row = (
                self._connection()
                .execute(
                    sql.SQL("SELECT handled_until FROM {} WHERE name = %s").format(self._table),
                    (self._name,),
                )
                .fetchone()
            )
        if row is None:
            return None
        value = row[0]
        assert isinstance(value, datetime)
        return value.astimezone(UTC)

    def save(self, handled_until: datetime) -> None:
        statement = sql.SQL(
            "INSERT INTO {table} (name, handled_until) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET "
            "handled_until = GREATEST({table}.handled_until, excluded.handled_until)"
        ).format(table=self._table)
        with self._lock:
            try:
                self._connection().execute(statement, (self._name, handled_until))
            except psycopg.OperationalError:
                # A dropped connection: reconnect once; a second failure is the caller's.
                self.close()
                self._connection().execute(statement, (self._name, handled_until))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
