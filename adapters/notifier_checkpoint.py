"""The notifier's position in the event log, in a table of the same store.

One row per notifier group: "every run outcome up to this notification id has been
decided". Notifiers write it after each page of decisions, only ever forward. It is a hint,
not the record: losing it re-reads outcomes, whose decisions are not made twice.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import psycopg
from psycopg import sql

from adapters.postgres_setup import setup_lock

TABLE = "jobledger_notifier_position"


class SQLiteNotifierPosition:
    def __init__(self, path: str | Path, name: str = "default") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(path), isolation_level=None, timeout=30, check_same_thread=False
        )
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (name TEXT PRIMARY KEY, position INTEGER NOT NULL)"
        )

    def load(self) -> int:
        with self._lock:
            row = self._conn.execute(
                f"SELECT position FROM {TABLE} WHERE name = ?", (self._name,)
            ).fetchone()
        return 0 if row is None else int(row[0])

    def save(self, position: int) -> None:
        with self._lock:
            self._conn.execute(
                f"INSERT INTO {TABLE} (name, position) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET position = MAX(position, excluded.position)",
                (self._name, position),
            )

    def close(self) -> None:
        self._conn.close()


class PostgresNotifierPosition:
    def __init__(self, conninfo: str, schema: str, name: str = "default") -> None:
        self._conninfo = conninfo
        self._name = name
        self._lock = threading.Lock()
        self._table = sql.Identifier(schema, TABLE)
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        conn = self._connection()
        with conn.transaction():
            conn.execute(setup_lock(schema))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} "
                    "(name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
                ).format(self._table)
            )

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._conninfo, autocommit=True)
        return self._conn

    def _execute(
        self, statement: sql.Composed, params: tuple[object, ...]
    ) -> list[tuple[object, ...]]:
        with self._lock:
            try:
                cursor = self._connection().execute(statement, params)
            except psycopg.OperationalError:
                # A dropped connection: reconnect once; a second failure is the caller's.
                self.close()
                cursor = self._connection().execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def load(self) -> int:
        rows = self._execute(
            sql.SQL("SELECT position FROM {} WHERE name = %s").format(self._table), (self._name,)
        )
        return 0 if not rows else int(str(rows[0][0]))

    def save(self, position: int) -> None:
        self._execute(
            sql.SQL(
                "INSERT INTO {t} (name, position) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE "
                "SET position = GREATEST({t}.position, excluded.position)"
            ).format(t=self._table),
            (self._name, position),
        )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
