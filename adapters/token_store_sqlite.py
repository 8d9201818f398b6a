"""API tokens in SQLite, in the same database file as the event store.

Each write opens its own short-lived connection, like the data-key store, so a token check
never holds the event store's write lock. Lookups, one on every request since revocation
takes effect at once, reuse one read connection per thread (opening a connection costs
twenty times the indexed SELECT); in WAL mode each SELECT sees the latest commit.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from datetime import datetime

from adapters.token_store import TABLE_NAME, SqlTokenStore, TokenRow
from domain.errors import Conflict

_COLUMNS = "id, name, role, created_at, last_used_at, revoked_at"

_DDL = (
    f"""CREATE TABLE IF NOT EXISTS {TABLE_NAME} (
        id           TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        role         TEXT NOT NULL,
        token_hash   TEXT NOT NULL UNIQUE,
        created_at   TEXT NOT NULL,
        last_used_at TEXT,
        revoked_at   TEXT
    )""",
    # One live token per name, so `revoke NAME` means one token; revoked names are reusable.
    f"CREATE UNIQUE INDEX IF NOT EXISTS {TABLE_NAME}_live_name"
    f" ON {TABLE_NAME} (name) WHERE revoked_at IS NULL",
)


def _ts(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat(timespec="microseconds")


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _row(record: tuple[str, str, str, str, str | None, str | None]) -> TokenRow:
    token_id, name, role, created_at, last_used_at, revoked_at = record
    return TokenRow(
        id=token_id,
        name=name,
        role=role,
        created_at=datetime.fromisoformat(created_at),
        last_used_at=_dt(last_used_at),
        revoked_at=_dt(revoked_at),
    )


class SQLiteTokenStore(SqlTokenStore):
    """Tokens in table jobledger_api_tokens of a SQLite file (WAL mode)."""

    def __init__(self, path: str, *, busy_timeout: float = 10.0, cache_seconds: float = 0.0):
        super().__init__(cache_seconds=cache_seconds)
        self._path = str(path)
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SQLiteTokenStore({self._path!r})"

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: each statement commits on its own, which is all we need.
        return sqlite3.connect(self._path, timeout=self._busy_timeout, isolation_level=None)

    def create_table(self) -> None:
        with closing(self._connect()) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            for statement in _DDL:
                conn.execute(statement)

    def _insert(self, row: TokenRow, digest: str) -> None:
        with closing(self._connect()) as conn:
            try:
                conn.execute(
                    f"INSERT INTO {TABLE_NAME} (id, name, role, token_hash, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (row.id, row.name, row.role, digest, _ts(row.created_at)),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"a live token named {row.name!r} already exists") from None

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # Used by this thread only; closed by close() from whichever thread calls it.
            conn = sqlite3.connect(
                self._path,
                timeout=self._busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def _one(self, where: str, value: str) -> TokenRow | None:
        # fetchall: the statement runs to its end, so no read transaction stays open on
        # this connection (it would pin an old snapshot: a revocation unseen).
        records = (
            self._reader()
            .execute(f"SELECT {_COLUMNS} FROM {TABLE_NAME} WHERE {where} = ?", (value,))
            .fetchall()
        )
        return _row(records[0]) if records else None

    def close(self) -> None:
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for conn in readers:
            conn.close()

    def _find_by_hash(self, digest: str) -> TokenRow | None:
        return self._one("token_hash", digest)

    def _find_by_id(self, token_id: str) -> TokenRow | None:
        return self._one("id", token_id)

    def _rows(self) -> list[TokenRow]:
        with closing(self._connect()) as conn:
            records = conn.execute(
                f"SELECT {_COLUMNS} FROM {TABLE_NAME} ORDER BY created_at, id"
            ).fetchall()
        return [_row(record) for record in records]

    def _revoke(self, token_id_or_name: str, at: datetime) -> bool:
        with closing(self._connect()) as conn:
            cursor = conn.execute(
                f"UPDATE {TABLE_NAME} SET revoked_at = ? WHERE revoked_at IS NULL AND id = ?",
                (_ts(at), token_id_or_name),
            )
            if cursor.rowcount == 0:
                cursor = conn.execute(
                    f"UPDATE {TABLE_NAME} SET revoked_at = ? WHERE revoked_at IS NULL AND name = ?",
                    (_ts(at), token_id_or_name),
                )
            return cursor.rowcount > 0

    def _touch(self, token_id: str, at: datetime) -> None:
        with closing(self._connect()) as conn:
            conn.execute(
                f"UPDATE {TABLE_NAME} SET last_used_at = ? WHERE id = ?", (_ts(at), token_id)
            )

    def _has_live_role(self, role: str) -> bool:
        with closing(self._connect()) as conn:
            record = conn.execute(
                f"SELECT 1 FROM {TABLE_NAME} WHERE role = ? AND revoked_at IS NULL LIMIT 1",
                (role,),
            ).fetchone()
        return record is not None
