"""One forward-only value per name, in a table of the store: the shape of the scheduler's
watermark and the notifier's log position.

Several processes of one group share a row and each only ever moves it forward (MAX /
GREATEST in the upsert), so a slower process never drags the position back. Each caller
says how its value is stored (its table, column and SQL type) and converts it.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import psycopg
from psycopg import sql

from adapters.postgres_setup import setup_lock


class SQLiteNamedPosition:
    """The row `name` of `table` (name, `column`) in the embedded SQLite database."""

    def __init__(self, path: str | Path, table: str, column: str, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._select = f"SELECT {column} FROM {table} WHERE name = ?"
        self._upsert = (
            f"INSERT INTO {table} (name, {column}) VALUES (?, ?) "
            f"ON CONFLICT (name) DO UPDATE SET {column} = MAX({column}, excluded.{column})"
        )
        self._conn = sqlite3.connect(
            str(path), isolation_level=None, timeout=30, check_same_thread=False
        )
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (name TEXT PRIMARY KEY, {column} INTEGER NOT NULL)"
        )

    def _load(self) -> int | None:
        with self._lock:
            row = self._conn.execute(self._select, (self._name,)).fetchone()
        return None if row is None else int(row[0])

    def _save(self, value: int) -> None:
        with self._lock:
            self._conn.execute(self._upsert, (self._name, value))

    def close(self) -> None:
        self._conn.close()


class PostgresNamedPosition:
    """The row `name` of `table` (name, `column` of `sql_type`) in the store's schema."""

    def __init__(
        self, conninfo: str, schema: str, table: str, column: str, sql_type: str, name: str
    ) -> None:
        self._conninfo = conninfo
        self._name = name
        self._lock = threading.Lock()
        target = sql.Identifier(schema, table)
        value = sql.Identifier(column)
        self._select = sql.SQL("SELECT {} FROM {} WHERE name = %s").format(value, target)
        self._upsert = sql.SQL(
            "INSERT INTO {t} (name, {v}) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE "
            "SET {v} = GREATEST({t}.{v}, excluded.{v})"
        ).format(t=target, v=value)
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        conn = self._connection()
        # Processes starting at once race CREATE TABLE IF NOT EXISTS (it can fail on the
        # catalog's unique index): the same set-up lock as the event store's.
        with conn.transaction():
            conn.execute(setup_lock(schema))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (name TEXT PRIMARY KEY, {} {} NOT NULL)"
                ).format(target, value, sql.SQL(sql_type))
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

    def _load(self) -> object | None:
        rows = self._execute(self._select, (self._name,))
        return rows[0][0] if rows else None

    def _save(self, value: object) -> None:
        self._execute(self._upsert, (self._name, value))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
