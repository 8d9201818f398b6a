"""What the PostgreSQL views share: schema-qualified SQL, the write transaction and `drop`.

Every statement is a template whose `{s}` is the datastore's schema, composed once when the
view is constructed. Tables use native types: uuid, timestamptz, jsonb.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import orjson
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg import Cursor
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Composable, Composed, Identifier
from psycopg.types.json import set_json_loads

from adapters.postgres_setup import setup_lock
from projections.base import BatchTracking

# The views' jsonb columns (programs, parameters, schedules, changes) decode with orjson, a
# few times faster than the standard library on every page of jobs or history read.
set_json_loads(orjson.loads)

# The view tables are rebuildable from the event store and their tracking position commits
# in the same transaction, so a crash can lose only the last few view transactions, which
# the follower then simply re-applies from the recorded position: no need to wait for the
# WAL flush on every batch.
ASYNC_COMMIT = "SET LOCAL synchronous_commit = off"

UTC_SESSION = "SET TIME ZONE 'UTC'"
DROP_TABLE = "DROP TABLE IF EXISTS {s}.{table}"
DROP_TRACKING = "DELETE FROM {s}.{tracking} WHERE application_name = %s"
# Compare-and-set of the view's position (see projections.base.BatchTracking). The row lock
# makes a second follower wait, re-check the WHERE against the new position, and update none.
ADVANCE_TRACKING = (
    "UPDATE {s}.{tracking} SET notification_id = %s "
    "WHERE application_name = %s AND notification_id = %s"
)
START_TRACKING = (
    "INSERT INTO {s}.{tracking} VALUES (%s, %s) ON CONFLICT (application_name) DO NOTHING"
)


class PostgresView(PostgresTrackingRecorder):
    """A view's tables next to eventsourcing's tracking table, in the datastore's schema."""

    name: str  # the view's tracking name (from the abstract view)
    TABLES: tuple[str, ...] = ()  # dropped by `drop`
    DDL: tuple[str, ...] = ()  # CREATE TABLE / INDEX templates, all IF NOT EXISTS
    QUERIES: Mapping[str, str] = {}  # the view's other statement templates, by name

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.insert(0, setup_lock(self.datastore.schema))
        self.sql_create_statements.extend(self.compose(ddl) for ddl in self.DDL)
        self.q = {key: self.compose(template) for key, template in self.QUERIES.items()}

    def create_table(self) -> None:
        """The tables, under the set-up lock (the first statement). The library looks for
        the tracking table before that, so a process that saw it missing while another
        was creating it would record its first migration again: an IntegrityError. The
        tables are all there by then; a second pass sees them and records nothing."""
        try:
            super().create_table()
        except IntegrityError:
            super().create_table()

    def compose(self, template: str, **identifiers: str) -> Composed:
        """`template` with `{s}` as this view's schema (and other `{name}`s as identifiers)."""
        names: dict[str, Composable] = {k: Identifier(v) for k, v in identifiers.items()}
        return SQL(template).format(s=Identifier(self.datastore.schema), **names)  # type: ignore[arg-type]

    @contextmanager
    def writing(self, tracking: Tracking) -> Iterator[Cursor[DictRow]]:
        """One write transaction that records `tracking` with whatever the caller writes."""
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(ASYNC_COMMIT)
            # Tracking first: a position already recorded fails before any row is written,
            # and the tracking row's lock serialises two followers of the same view, so the
            # read-modify-writes that follow see every earlier batch.
            self._advance_tracking(cursor, tracking)
            yield cursor

    def _advance_tracking(self, cursor: Cursor[DictRow], tracking: Tracking) -> None:
        if not isinstance(tracking, BatchTracking):
            self._insert_tracking(cursor, tracking)
            return
        tracking_table = {"tracking": self.tracking_table_name}
        if tracking.previous:
            cursor.execute(
                self.compose(ADVANCE_TRACKING, **tracking_table),
                (tracking.notification_id, self.name, tracking.previous),
            )
        else:
            cursor.execute(
                self.compose(START_TRACKING, **tracking_table),
                (self.name, tracking.notification_id),
            )
        if cursor.rowcount != 1:
            raise IntegrityError(
                f"{self.name} is no longer at position {tracking.previous}: another follower "
                "moved it"
            )

    def fetch(self, query: Composed, params: Any = ()) -> list[DictRow]:
        """The rows of one read-only statement (the pool's connections autocommit)."""
        with self.datastore.get_connection() as conn:
            # Times come back in the session's zone: make it UTC (once per connection), so
            # results are the same as SQLite's whatever the server's TimeZone setting.
            if conn.pgconn.parameter_status(b"TimeZone") != b"UTC":
                conn.execute(UTC_SESSION)
            return conn.execute(query, params).fetchall()

    def fetch_tuples(self, query: Composed, params: Any = ()) -> list[tuple[Any, ...]]:
        """`fetch` with plain tuples: for many narrow rows, where a dict per row costs more
        than the query (no times here, so the session's zone does not matter)."""
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            return cur.execute(query, params).fetchall()

    def drop(self) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            for table in self.TABLES:
                cursor.execute(self.compose(DROP_TABLE, table=table))
            cursor.execute(
                self.compose(DROP_TRACKING, tracking=self.tracking_table_name), (self.name,)
            )
