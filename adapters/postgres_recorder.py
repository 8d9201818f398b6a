"""eventsourcing's PostgreSQL application recorder, sending event states as binary parameters.

The library sends a batch as an array of a composite type in text format, so psycopg
escapes every byte of every state with a regular expression: a 200 kB log batch cost more
in escaping than in the database. Four plain arrays in binary format carry the same rows
with no escaping. Everything else (the table lock that keeps notification ids in commit
order, the NOTIFY, RETURNING the ids) is the library's own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, Notification, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.errors import DuplicateObject
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Identifier, Literal

from adapters.postgres_setup import setup_lock

# Log batches make large states. PostgreSQL's default TOAST compression (pglz) costs more
# server time than the insert itself; lz4 compresses as well for JSON text, several times
# faster. Runs with the library's CREATE TABLE on every start, but alters the table (an
# exclusive lock) only the first time; a server built without lz4 keeps pglz rather than
# refusing to start.
LZ4_STATE = (
    "DO $$ BEGIN"
    " IF (SELECT attcompression FROM pg_attribute"
    " WHERE attrelid = format('%I.%I', {schema_name}, {table_name})::regclass"
    " AND attname = 'state') IS DISTINCT FROM 'l' THEN"
    " ALTER TABLE {schema}.{table} ALTER COLUMN state SET COMPRESSION lz4;"
    " END IF;"
    " EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN NULL; END $$"
)

INSERT = (
    "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state)"
    " SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[])"
    " RETURNING notification_id"
)


SELECT_AFTER = (
    "SELECT notification_id, originator_id, originator_version, topic, state"
    " FROM {schema}.{table} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
)


class PostgresEventRecorder(PostgresApplicationRecorder):
    """The library's recorder with cheaper encodings of inserted and selected events."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = {
            "schema": Identifier(self.datastore.schema),
            "table": Identifier(self.events_table_name),
        }
        self.binary_insert_statement = SQL(INSERT).format(**names)
        # Processes starting at once (a cluster's API, schedulers and workers) each run the
        # set-up; the library's CREATE OR REPLACE FUNCTION and the ALTER TABLE below take
        # their locks in opposite orders, so two starts could deadlock. One at a time.
        self.sql_create_statements.insert(0, setup_lock(self.datastore.schema))
        self.sql_create_statements.append(
            SQL(LZ4_STATE).format(
                schema_name=Literal(self.datastore.schema),
                table_name=Literal(self.events_table_name),
                **names,
            )
        )
        self.select_after_statement = SQL(SELECT_AFTER).format(**names)

    def create_table(self) -> None:
        """The library's set-up, its types included, in one transaction under the set-up
        lock. The library creates each type in a transaction of its own, before taking any
        lock, so two processes could both create it and one fail on pg_type's unique index."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self.sql_create_statements[0])  # the set-up lock
            for statement in self.sql_create_statements:
                if "CREATE TYPE" in statement.as_string():
                    # No IF NOT EXISTS for types: a savepoint keeps the transaction alive.
                    with contextlib.suppress(DuplicateObject), curs.connection.transaction():
                        curs.execute(statement, prepare=False)
            self._create_table(curs)
        self.datastore.register_type_adapters()

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # The library pipelines this transaction. In pipeline mode a large write (a few MB
        # of log batches in one save) can deadlock: psycopg blocks sending while the server
        # blocks returning results (psycopg issue 685). Plain statements cost two more
        # round trips on a local socket and never hang.
        if not stored_events:
            return []
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
        ):
            self._insert_events(curs, stored_events, **kwargs)
            self._insert_stored_events(curs, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **_: Any
    ) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(
            self.binary_insert_statement,
            (
                [e.originator_id for e in stored_events],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
            ),
        )

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        # Followers read pages after a position, thousands of rows at a time: binary results
        # as tuples skip the hex decoding of every state and a dict per row.
        if stop is not None or topics:
            return super().select_notifications(
                start, limit, stop, topics, inclusive_of_start=inclusive_of_start
            )
        after = 0 if start is None else (start - 1 if inclusive_of_start else start)
        with (
            self.datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row, binary=True) as curs,
        ):
            curs.execute(self.select_after_statement, (after, limit), prepare=True)
            return [
                Notification(
                    id=row[0],
                    originator_id=row[1],
                    originator_version=row[2],
                    topic=row[3],
                    state=row[4],
                )  # fmt: skip
                for row in curs.fetchall()
            ]
