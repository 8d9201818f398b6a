"""The one lock every process takes to create or alter tables in a PostgreSQL schema.

Processes of a cluster start together, and each creates whatever is missing. Concurrent
CREATE ... IF NOT EXISTS of one name is not safe: both see the name free, and the second
fails on the catalog's unique index (pg_type_typname_nsp_index, pg_namespace_nspname_index).
So every set-up in a schema (the event store's, the views', the data keys', the tokens',
the scheduler checkpoint's) runs in a transaction that first takes this transaction-level
advisory lock: one at a time, released at commit, and the later ones find all in place.
"""

from __future__ import annotations

from psycopg import sql


def setup_lock(schema: str) -> sql.Composed:
    """`SELECT pg_advisory_xact_lock(...)` keyed on the schema's name."""
    return sql.SQL("SELECT pg_advisory_xact_lock(hashtext({}))").format(
        sql.Literal(f"jobledger.schema.{schema}")
    )
