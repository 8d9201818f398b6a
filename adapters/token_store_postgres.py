"""API tokens in PostgreSQL, in the configured schema, through a small connection pool."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import errors, sql
from psycopg_pool import ConnectionPool

from adapters.postgres_setup import setup_lock
from adapters.token_store import TABLE_NAME, SqlTokenStore, TokenRow
from domain.errors import Conflict

_COLUMNS = sql.SQL("id, name, role, created_at, last_used_at, revoked_at")

_DDL = (
    """CREATE TABLE IF NOT EXISTS {table} (
        id           TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        role         TEXT NOT NULL,
        token_hash   TEXT NOT NULL UNIQUE,
        created_at   TIMESTAMPTZ NOT NULL,
        last_used_at TIMESTAMPTZ,
        revoked_at   TIMESTAMPTZ
    )""",
    # One live token per name, so `revoke NAME` means one token; revoked names are reusable.
    "CREATE UNIQUE INDEX IF NOT EXISTS {index} ON {table} (name) WHERE revoked_at IS NULL",
)


def _row(record: tuple[Any, ...]) -> TokenRow:
    token_id, name, role, created_at, last_used_at, revoked_at = record
    return TokenRow(token_id, name, role, created_at, last_used_at, revoked_at)


class PostgresTokenStore(SqlTokenStore):
    """Tokens in `<schema>.jobledger_api_tokens`."""

    def __init__(
        self,
        conninfo: str,
        schema: str = "public",
        *,
        max_size: int = 4,
        cache_seconds: float = 0.0,
    ) -> None:
        super().__init__(cache_seconds=cache_seconds)
        self._schema = schema
        self._table = sql.Identifier(schema, TABLE_NAME)
        # Autocommit: every token check is one SELECT, a single round trip with no COMMIT
        # after it (a check runs on every request). Checked before use, so a database restart
        # fails no request (see adapters.postgres_pools for what the check costs).
        self._pool: ConnectionPool[Any] = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_size,
            open=True,
            name="jobledger-tokens",
            kwargs={"autocommit": True},
            check=ConnectionPool.check_connection,
            # While the database is away a request answers 503 after this, not after 30 s.
            timeout=3.0,
        )

    def __repr__(self) -> str:
        # The conninfo may hold a password, so it is left out.
        return f"PostgresTokenStore(schema={self._schema!r})"

    def _q(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(
            table=self._table,
            columns=_COLUMNS,
            index=sql.Identifier(f"{TABLE_NAME}_live_name"),
        )

    def create_table(self) -> None:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(setup_lock(self._schema))  # see adapters.postgres_setup
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self._schema))
            )
            for statement in _DDL:
                conn.execute(self._q(statement))

    def _insert(self, row: TokenRow, digest: str) -> None:
        try:
            with self._pool.connection() as conn:
                conn.execute(
                    self._q(
                        "INSERT INTO {table} (id, name, role, token_hash, created_at)"
                        " VALUES (%s, %s, %s, %s, %s)"
                    ),
                    (row.id, row.name, row.role, digest, row.created_at),
                )
        except errors.UniqueViolation:
            raise Conflict(f"a live token named {row.name!r} already exists") from None

    def _one(self, column: str, value: str) -> TokenRow | None:
        query = sql.SQL("SELECT {columns} FROM {table} WHERE {column} = %s").format(
            columns=_COLUMNS, table=self._table, column=sql.Identifier(column)
        )
        with self._pool.connection() as conn:
            record = conn.execute(query, (value,)).fetchone()
        return None if record is None else _row(record)

    def _find_by_hash(self, digest: str) -> TokenRow | None:
        return self._one("token_hash", digest)

    def _find_by_id(self, token_id: str) -> TokenRow | None:
        return self._one("id", token_id)

    def _rows(self) -> list[TokenRow]:
        with self._pool.connection() as conn:
            records = conn.execute(
                self._q("SELECT {columns} FROM {table} ORDER BY created_at, id")
            ).fetchall()
        return [_row(record) for record in records]

    def _revoke(self, token_id_or_name: str, at: datetime) -> bool:
        with self._pool.connection() as conn:
            cursor = conn.execute(
                self._q("UPDATE {table} SET revoked_at = %s WHERE revoked_at IS NULL AND id = %s"),
                (at, token_id_or_name),
            )
            if cursor.rowcount == 0:
                cursor = conn.execute(
                    self._q(
                        "UPDATE {table} SET revoked_at = %s WHERE revoked_at IS NULL AND name = %s"
                    ),
                    (at, token_id_or_name),
                )
            return cursor.rowcount > 0

    def _touch(self, token_id: str, at: datetime) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                self._q("UPDATE {table} SET last_used_at = %s WHERE id = %s"), (at, token_id)
            )

    def _has_live_role(self, role: str) -> bool:
        with self._pool.connection() as conn:
            record = conn.execute(
                self._q("SELECT 1 FROM {table} WHERE role = %s AND revoked_at IS NULL LIMIT 1"),
                (role,),
            ).fetchone()
        return record is not None

    def close(self) -> None:
        self._pool.close()
