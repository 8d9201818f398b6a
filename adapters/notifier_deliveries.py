"""The notifier's pending deliveries (`notifier.ports.PendingDeliveries`), in two tables of
the same store: the deliveries not yet settled with when each is due, and the log position
up to which they were learnt, written in one transaction. So a restarted notifier reads
what is pending and the delivery events after that position, never the whole history.

Notifiers of one group share the rows. The position only moves forward; a row a slower
notifier wrote from an older state is checked against its aggregate when loaded, so at
worst it costs one look at a delivery that had already settled.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from uuid import UUID

import psycopg
from psycopg import sql

from adapters.postgres_setup import setup_lock

PENDING = "jobledger_notifier_deliveries"
POSITION = "jobledger_notifier_deliveries_position"


class SQLiteNotifierDeliveries:
    def __init__(self, path: str | Path, name: str = "default") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(path), isolation_level=None, timeout=30, check_same_thread=False
        )
        # The rows are a hint that saves re-reading the history, not the record: a commit
        # lost to a power cut only means re-reading the last few delivery events. In WAL
        # mode NORMAL skips the fsync of each commit, on this connection only.
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {PENDING} (name TEXT NOT NULL, delivery_id TEXT NOT NULL,"
            " due_at TEXT NOT NULL, PRIMARY KEY (name, delivery_id))"
        )
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {POSITION}"
            " (name TEXT PRIMARY KEY, position INTEGER NOT NULL)"
        )

    def load(self) -> tuple[int, dict[UUID, datetime]]:
        with self._lock:
            row = self._conn.execute(
                f"SELECT position FROM {POSITION} WHERE name = ?", (self._name,)
            ).fetchone()
            rows = self._conn.execute(
                f"SELECT delivery_id, due_at FROM {PENDING} WHERE name = ?", (self._name,)
            ).fetchall()
        due = {UUID(ident): datetime.fromisoformat(at) for ident, at in rows}
        return (0 if row is None else int(row[0])), due

    def save(self, position: int, changes: Mapping[UUID, datetime | None]) -> None:
        settled = [(self._name, str(i)) for i, at in changes.items() if at is None]
        pending = [(self._name, str(i), at.isoformat()) for i, at in changes.items() if at]
        with self._lock:
            db = self._conn
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(f"DELETE FROM {PENDING} WHERE name = ? AND delivery_id = ?", settled)
                db.executemany(
                    f"INSERT INTO {PENDING} (name, delivery_id, due_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (name, delivery_id) DO UPDATE SET due_at = excluded.due_at",
                    pending,
                )
                db.execute(
                    f"INSERT INTO {POSITION} (name, position) VALUES (?, ?) ON CONFLICT (name)"
                    " DO UPDATE SET position = MAX(position, excluded.position)",
                    (self._name, position),
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self._conn.close()


class PostgresNotifierDeliveries:
    def __init__(self, conninfo: str, schema: str, name: str = "default") -> None:
        self._conninfo = conninfo
        self._name = name
        self._lock = threading.Lock()
        pending = sql.Identifier(schema, PENDING)
        position = sql.Identifier(schema, POSITION)
        self._q = {
            "position": sql.SQL("SELECT position FROM {} WHERE name = %s").format(position),
            "pending": sql.SQL("SELECT delivery_id, due_at FROM {} WHERE name = %s").format(
                pending
            ),
            "settle": sql.SQL("DELETE FROM {} WHERE name = %s AND delivery_id = %s").format(
                pending
            ),
            "upsert": sql.SQL(
                "INSERT INTO {} (name, delivery_id, due_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (name, delivery_id) DO UPDATE SET due_at = excluded.due_at"
            ).format(pending),
            "move": sql.SQL(
                "INSERT INTO {t} (name, position) VALUES (%s, %s) ON CONFLICT (name)"
                " DO UPDATE SET position = GREATEST({t}.position, excluded.position)"
            ).format(t=position),
        }
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        conn = self._connection()
        with conn.transaction():  # processes starting at once: the store's set-up lock
            conn.execute(setup_lock(schema))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (name text NOT NULL, delivery_id uuid NOT NULL,"
                    " due_at timestamptz NOT NULL, PRIMARY KEY (name, delivery_id))"
                ).format(pending)
            )
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {}"
                    " (name text PRIMARY KEY, position bigint NOT NULL)"
                ).format(position)
            )

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._conninfo, autocommit=True)
        return self._conn

    def load(self) -> tuple[int, dict[UUID, datetime]]:
        with self._lock:
            conn = self._connection()
            row = conn.execute(self._q["position"], (self._name,)).fetchone()
            rows = conn.execute(self._q["pending"], (self._name,)).fetchall()
        due = {UUID(str(ident)): at for ident, at in rows if isinstance(at, datetime)}
        return (0 if row is None else int(str(row[0]))), due

    def save(self, position: int, changes: Mapping[UUID, datetime | None]) -> None:
        with self._lock:
            conn = self._connection()
            try:
                self._save(conn, position, changes)
            except psycopg.OperationalError:
                # A dropped connection: reconnect once; a second failure is the caller's.
                self.close()
                self._save(self._connection(), position, changes)

    def _save(
        self,
        conn: psycopg.Connection[tuple[object, ...]],
        position: int,
        changes: Mapping[UUID, datetime | None],
    ) -> None:
        with conn.transaction(), conn.cursor() as cursor:
            settled = [(self._name, i) for i, at in changes.items() if at is None]
            pending = [(self._name, i, at) for i, at in changes.items() if at is not None]
            if settled:
                cursor.executemany(self._q["settle"], settled)
            if pending:
                cursor.executemany(self._q["upsert"], pending)
            cursor.execute(self._q["move"], (self._name, position))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
