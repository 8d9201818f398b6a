"""Checks on input that the schema cannot express, made before any command runs.

JSON values must survive every store unchanged: PostgreSQL's jsonb and text refuse NUL
characters, orjson refuses integers beyond 64 bits and lone surrogates, and a deeply nested
value would exhaust the recursion of any encoder. A value that could not be stored is bad
input (422 naming the field), not a server error, and above all not an event that no
projection could ever apply.
"""

from __future__ import annotations

from datetime import UTC, datetime

from domain.errors import InvalidInput
from domain.storable import check_json, check_text

__all__ = ["check_json", "check_text", "utc"]


def utc(at: datetime | None, field: str) -> datetime | None:
    """An aware time in UTC; InvalidInput naming `field` if it has no offset or no UTC
    equivalent (year 1 minus an hour)."""
    if at is None:
        return None
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput(field, "must include a time zone offset, e.g. Z or +01:00")
    try:
        return at.astimezone(UTC)
    except (OverflowError, ValueError):
        raise InvalidInput(field, "is out of range") from None
