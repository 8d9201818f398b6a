"""The data-key store in SQLite, sharing a database file with the event store.

Each operation opens its own short-lived connection and holds its transaction only for
one or two statements, so it never keeps the event store waiting for long.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from uuid import UUID

from adapters.data_keys import TABLE_NAME, DataKeyStore, WrappedKey

_COLUMNS = "job_id, wrapped, master_key_id, created_at, shredded_at"

# Wrapped key NULL exactly when shredded; a live key always records its master key.
_DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE_NAME} (
    job_id        TEXT PRIMARY KEY,
    wrapped       BLOB,
    master_key_id TEXT,
    created_at    TEXT NOT NULL,
    shredded_at   TEXT,
    CHECK ((wrapped IS NULL) = (shredded_at IS NOT NULL)),
    CHECK (wrapped IS NULL OR master_key_id IS NOT NULL)
)
"""


class SQLiteDataKeyStore(DataKeyStore):
    """Wrapped data keys in a SQLite file (WAL mode), safe across threads and processes."""

    def __init__(self, path: str, *, busy_timeout: float = 10.0, page_size: int = 500) -> None:
        self._path = str(path)
        self._busy_timeout = busy_timeout
        self._page_size = page_size

    def __repr__(self) -> str:
        return f"SQLiteDataKeyStore({self._path!r})"

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN ourselves, so transactions are exactly as
        # long as we mean them to be.
        conn = sqlite3.connect(self._path, timeout=self._busy_timeout, isolation_level=None)
        # Overwrite freed bytes with zeros, so a shredded wrapped key does not linger in
        # free pages of the file (older copies may still sit in the WAL until checkpoint).
        conn.execute("PRAGMA secure_delete = ON")
        return conn

    def create_table(self) -> None:
        with closing(self._connect()) as conn:
            # WAL is a property of the file: readers never block the writer, which matters
            # when the event store shares it.
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(_DDL)

    def get(self, job_id: UUID) -> WrappedKey | None:
        with closing(self._connect()) as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM {TABLE_NAME} WHERE job_id = ?", (str(job_id),)
            ).fetchone()
        return _row(row) if row else None

    def create_if_absent(self, job_id: UUID, wrapped: bytes, master_key_id: str) -> WrappedKey:
        with closing(self._connect()) as conn:
            # IMMEDIATE takes the write lock up front, so the SELECT sees whichever
            # insert won, ours or a racing process's.
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    f"INSERT INTO {TABLE_NAME} (job_id, wrapped, master_key_id, created_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING",
                    (str(job_id), wrapped, master_key_id, _now()),
                )
                row = conn.execute(
                    f"SELECT {_COLUMNS} FROM {TABLE_NAME} WHERE job_id = ?", (str(job_id),)
                ).fetchone()
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return _row(row)

    def destroy(self, job_id: UUID) -> None:
        now = _now()
        with closing(self._connect()) as conn:
            conn.execute(
                f"INSERT INTO {TABLE_NAME} (job_id, wrapped, master_key_id, created_at,"
                " shredded_at) VALUES (?, NULL, NULL, ?, ?) ON CONFLICT (job_id) DO UPDATE"
                " SET wrapped = NULL, master_key_id = NULL,"
                " shredded_at = COALESCE(shredded_at, excluded.shredded_at)",
                (str(job_id), now, now),
            )

    def all(self) -> Iterator[WrappedKey]:
        # Keyset paging: each page is its own short read, so a long walk (rotation) never
        # pins a snapshot or holds up WAL checkpoints, and rows updated meanwhile are
        # neither skipped nor repeated.
        after = ""
        while True:
            with closing(self._connect()) as conn:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM {TABLE_NAME} WHERE job_id > ? ORDER BY job_id LIMIT ?",
                    (after, self._page_size),
                ).fetchall()
            yield from (_row(r) for r in rows)
            if len(rows) < self._page_size:
                return
            after = rows[-1][0]

    def replace_wrapped(
        self,
        job_id: UUID,
        wrapped: bytes,
        master_key_id: str,
        *,
        expected_master_key_id: str | None = None,
    ) -> bool:
        with closing(self._connect()) as conn:
            cur = conn.execute(
                f"UPDATE {TABLE_NAME} SET wrapped = ?, master_key_id = ?"
                " WHERE job_id = ? AND wrapped IS NOT NULL"
                " AND (? IS NULL OR master_key_id = ?)",
                (
                    wrapped,
                    master_key_id,
                    str(job_id),
                    expected_master_key_id,
                    expected_master_key_id,
                ),
            )
            return cur.rowcount == 1


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _row(row: tuple[str, bytes | None, str | None, str, str | None]) -> WrappedKey:
    job_id, wrapped, master_key_id, created_at, shredded_at = row
    return WrappedKey(
        job_id=UUID(job_id),
        wrapped=bytes(wrapped) if wrapped is not None else None,
        master_key_id=master_key_id,
        created_at=datetime.fromisoformat(created_at),
        shredded_at=datetime.fromisoformat(shredded_at) if shredded_at else None,
    )
