"""Which store failures mean "the store is away" and which mean "the disk is full".

The HTTP layer answers the first with 503 and the second with 507, the loops report both to
/healthz, and only this module knows how SQLite, psycopg and eventsourcing spell them.
"""

from __future__ import annotations

import errno
import sqlite3
from enum import StrEnum

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError

# SQLSTATE class 53 (insufficient resources): 53100 disk_full, 53200 out of memory...
DISK_FULL_SQLSTATE = "53100"
_DISK_FULL_TEXT = ("no space left on device", "database or disk is full", "disk full")


class StoreTrouble(StrEnum):
    UNAVAILABLE = "unavailable"
    DISK_FULL = "disk_full"


def classify(error: BaseException) -> StoreTrouble | None:
    """The kind of store trouble behind `error` (looking through its causes), or None when it
    is not the store's (a bug, a conflict, bad input)."""
    seen: set[int] = set()
    found: StoreTrouble | None = None
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_disk_full(current):
            return StoreTrouble.DISK_FULL
        if found is None and _is_unavailable(current):
            found = StoreTrouble.UNAVAILABLE
        current = current.__cause__ or current.__context__
    return found


def _is_disk_full(error: BaseException) -> bool:
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return True
    if isinstance(error, psycopg.Error) and error.sqlstate == DISK_FULL_SQLSTATE:
        return True
    if isinstance(error, sqlite3.Error) and getattr(error, "sqlite_errorcode", None) == 13:
        return True  # SQLITE_FULL
    text = str(error).lower()
    return isinstance(error, (OperationalError, sqlite3.Error, psycopg.Error)) and any(
        marker in text for marker in _DISK_FULL_TEXT
    )


def _is_unavailable(error: BaseException) -> bool:
    # psycopg_pool.PoolTimeout is a psycopg.OperationalError: no connection within the wait.
    return isinstance(
        error,
        (
            OperationalError,
            InterfaceError,
            psycopg.OperationalError,
            psycopg.InterfaceError,
            sqlite3.OperationalError,
            ConnectionError,
            TimeoutError,
        ),
    )
