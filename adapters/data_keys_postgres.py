"""The data-key store in PostgreSQL, through a small psycopg 3 connection pool."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg_pool import ConnectionPool

from adapters.data_keys import TABLE_NAME, DataKeyStore, WrappedKey
from adapters.postgres_setup import setup_lock

_COLUMNS = sql.SQL("job_id, wrapped, master_key_id, created_at, shredded_at")

# Wrapped key NULL exactly when shredded; a live key always records its master key.
_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    job_id        UUID PRIMARY KEY,
    wrapped       BYTEA,
    master_key_id TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    shredded_at   TIMESTAMPTZ,
    CHECK ((wrapped IS NULL) = (shredded_at IS NOT NULL)),
    CHECK (wrapped IS NULL OR master_key_id IS NOT NULL)
)
"""


class PostgresDataKeyStore(DataKeyStore):
    """Wrapped data keys in `<schema>.jobledger_data_keys`, safe across processes."""

    def __init__(
        self, conninfo: str, schema: str = "public", *, max_size: int = 4, page_size: int = 500
    ) -> None:
        self._schema = schema
        self._page_size = page_size
        self._table = sql.Identifier(schema, TABLE_NAME)
        self._pool: ConnectionPool[Any] = ConnectionPool(
            conninfo, min_size=1, max_size=max_size, open=True, name="jobledger-data-keys"
        )

    def __repr__(self) -> str:
        # The conninfo may hold a password, so it is left out.
        return f"PostgresDataKeyStore(schema={self._schema!r})"

    def _q(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(table=self._table, columns=_COLUMNS)

    def create_table(self) -> None:
        with self._pool.connection() as conn:
            conn.execute(setup_lock(self._schema))  # see adapters.postgres_setup
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self._schema))
            )
            conn.execute(self._q(_DDL))

    def get(self, job_id: UUID) -> WrappedKey | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                self._q("SELECT {columns} FROM {table} WHERE job_id = %s"), (job_id,)
            ).fetchone()
        return _row(row) if row else None

    def create_if_absent(self, job_id: UUID, wrapped: bytes, master_key_id: str) -> WrappedKey:
        with self._pool.connection() as conn:
            # Under READ COMMITTED a conflicting insert waits for the racing transaction;
            # the SELECT, a new statement with a new snapshot, then sees whichever row won.
            conn.execute(
                self._q(
                    "INSERT INTO {table} (job_id, wrapped, master_key_id) VALUES (%s, %s, %s)"
                    " ON CONFLICT (job_id) DO NOTHING"
                ),
                (job_id, wrapped, master_key_id),
            )
            row = conn.execute(
                self._q("SELECT {columns} FROM {table} WHERE job_id = %s"), (job_id,)
            ).fetchone()
        assert row is not None  # we or a racing process just inserted it; rows never vanish
        return _row(row)

    def destroy(self, job_id: UUID) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                self._q(
                    "INSERT INTO {table} (job_id, wrapped, master_key_id, shredded_at)"
                    " VALUES (%s, NULL, NULL, now()) ON CONFLICT (job_id) DO UPDATE"
                    " SET wrapped = NULL, master_key_id = NULL,"
                    " shredded_at = COALESCE({table}.shredded_at, excluded.shredded_at)"
                ),
                (job_id,),
            )

    def all(self) -> Iterator[WrappedKey]:
        # Keyset paging: short reads, no long-lived snapshot, no pool connection held
        # while the caller works on a page (rotation writes in between).
        first = self._q("SELECT {columns} FROM {table} ORDER BY job_id LIMIT %s")
        page = self._q("SELECT {columns} FROM {table} WHERE job_id > %s ORDER BY job_id LIMIT %s")
        after: UUID | None = None
        while True:
            with self._pool.connection() as conn:
                if after is None:
                    rows = conn.execute(first, (self._page_size,)).fetchall()
                else:
                    rows = conn.execute(page, (after, self._page_size)).fetchall()
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
        with self._pool.connection() as conn:
            cur = conn.execute(
                self._q(
                    "UPDATE {table} SET wrapped = %(wrapped)s, master_key_id = %(new)s"
                    " WHERE job_id = %(job)s AND wrapped IS NOT NULL"
                    " AND (%(expected)s::text IS NULL OR master_key_id = %(expected)s)"
                ),
                {
                    "wrapped": wrapped,
                    "new": master_key_id,
                    "job": job_id,
                    "expected": expected_master_key_id,
                },
            )
            return cur.rowcount == 1

    def close(self) -> None:
        self._pool.close()


def _row(row: tuple[Any, ...]) -> WrappedKey:
    job_id, wrapped, master_key_id, created_at, shredded_at = row
    return WrappedKey(
        job_id=job_id,
        wrapped=bytes(wrapped) if wrapped is not None else None,
        master_key_id=master_key_id,
        created_at=created_at,
        shredded_at=shredded_at,
    )
