"""Whether a store exists, looked at without creating anything: a command other than
`jobledger serve` or `jobledger init` must never make a new, empty store by mistake (run
from another directory, it would find none and quietly start one of its own).

A store exists once its event table does; a SQLite file without it (or no file at all),
or a PostgreSQL schema without it, is a store that was never initialised.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from adapters.token_store import TABLE_NAME as TOKENS_TABLE

# eventsourcing names the event table after the store: "stored_events" in a SQLite file,
# and after the application ("JobLedger") in a PostgreSQL schema.
SQLITE_EVENTS_TABLE = "stored_events"
POSTGRES_EVENTS_TABLE = "jobledger_events"
# The counts `jobledger status` shows, each one cheap: small tables, and the last event's
# id (an index lookup) rather than a count of the events.
_COUNTED = (("jobs", "view_jobs"), ("tokens", TOKENS_TABLE))
# How long `status` or a refusing command waits for an unreachable database.
CONNECT_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class StorePresence:
    """What is found where the settings say the store is."""

    reachable: bool
    initialised: bool
    problem: str | None = None  # why it is not reachable or not initialised, for people
    counts: dict[str, int] = field(default_factory=dict)


def sqlite_presence(path: Path) -> StorePresence:
    """The SQLite file at `path`, opened read-only (so never created)."""
    where = path.absolute()
    if not where.exists():
        return StorePresence(True, False, f"there is no file {where}")
    try:
        uri = f"file:{quote(str(where))}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=CONNECT_TIMEOUT_SECONDS)) as db:
            rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
            tables = {str(name) for (name,) in rows}
            if SQLITE_EVENTS_TABLE not in tables:
                return StorePresence(True, False, f"{where} holds no JobLedger store")
            counts = {
                label: int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                for label, table in _COUNTED
                if table in tables
            }
            last = db.execute(f"SELECT max(rowid) FROM {SQLITE_EVENTS_TABLE}").fetchone()[0]
    except sqlite3.Error as error:
        return StorePresence(False, False, f"cannot read {where}: {error}")
    return StorePresence(True, True, counts={**counts, "events": int(last or 0)})


def postgres_presence(conninfo: str, schema: str) -> StorePresence:
    """The schema of a PostgreSQL database: initialised once it holds the event table."""
    try:
        with psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT_SECONDS) as conn:
            found = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            ).fetchall()
            tables = {str(name) for (name,) in found}
            if POSTGRES_EVENTS_TABLE not in tables:
                return StorePresence(
                    True, False, f"schema {schema!r} holds no JobLedger store (no event table)"
                )
            counts: dict[str, int] = {}
            for label, table in _COUNTED:
                if table in tables:
                    query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
                    counts[label] = _one(conn.execute(query).fetchone())
            last = sql.SQL("SELECT max(notification_id) FROM {}").format(
                sql.Identifier(schema, POSTGRES_EVENTS_TABLE)
            )
            counts["events"] = _one(conn.execute(last).fetchone())
    except psycopg.Error as error:
        # psycopg's messages name the host, user and database, never the password.
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return StorePresence(False, False, f"cannot connect: {reason}")
    return StorePresence(True, True, counts=counts)


def _one(row: tuple[object, ...] | None) -> int:
    value = row[0] if row else None
    return int(value) if isinstance(value, int) else 0
