"""How the command line prints: aligned tables for people, JSON for scripts.

Stored values are printed to a terminal, so control characters in them are escaped: a store
written before names were checked may still hold a name with an escape sequence or a line
break, which must not recolour, rewrite or forge the lines around it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

# C0, DEL and C1 controls, and the bidirectional overrides and isolates that reorder a line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# JSON escapes C0 itself; DEL, C1 and the bidi marks it leaves raw.
_JSON_RAW_CONTROL = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def escape_controls(value: str) -> str:
    """`value` with each control character written as a backslash escape, as repr() does."""
    return _CONTROL.sub(lambda m: repr(m.group(0))[1:-1], value)


def print_json(value: Any) -> None:
    encoded = orjson.dumps(value, default=_default, option=orjson.OPT_INDENT_2).decode()
    sys.stdout.write(_JSON_RAW_CONTROL.sub(lambda m: f"\\u{ord(m.group(0)):04x}", encoded))
    sys.stdout.write("\n")


def _default(value: Any) -> Any:
    if isinstance(value, (UUID, datetime)):
        return str(value)
    raise TypeError(type(value).__name__)


def text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, (dict, list)):
        return escape_controls(orjson.dumps(value, default=_default).decode())
    return escape_controls(str(value))


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    cells = [[text(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def print_fields(fields: dict[str, Any]) -> None:
    width = max(len(k) for k in fields)
    for key, value in fields.items():
        print(f"{key.ljust(width)}  {text(value)}")
