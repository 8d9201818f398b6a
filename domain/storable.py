"""What a value must be for every store to keep it unchanged.

PostgreSQL's jsonb and text refuse NUL characters, orjson refuses integers beyond 64 bits
and lone surrogates, and a deeply nested value would exhaust the recursion of any encoder.
A value that could not be stored is bad input naming its field, never an event that no
projection could ever apply: so the domain checks it, whatever the entry point.
"""

from __future__ import annotations

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
