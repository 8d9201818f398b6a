"""Checks on input that the schema cannot express, made before any command runs.

JSON values must survive every store unchanged: PostgreSQL's jsonb and text refuse NUL
characters, orjson refuses integers beyond 64 bits and lone surrogates, and a deeply nested
value would exhaust the recursion of any encoder. A value that could not be stored is bad
input (422 naming the field), not a server error, and above all not an event that no
projection could ever apply.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.errors import InvalidInput

MAX_DEPTH = 32
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


def check_text(value: str, field: str) -> str:
    if "\x00" in value:
        raise InvalidInput(field, "must not contain NUL characters")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise InvalidInput(field, "is not valid Unicode text") from None
    return value


def check_json(value: Any, field: str, depth: int = 0) -> Any:
    """`value` if every part of it can be stored; else InvalidInput naming the part."""
    if depth > MAX_DEPTH:
        raise InvalidInput(field, f"is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, str):
        check_text(value, field)
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise InvalidInput(field, "is an integer outside the 64-bit range")
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidInput(field, "must be a finite number")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, field)
            check_json(item, f"{field}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_json(item, f"{field}[{index}]", depth + 1)
    return value


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
