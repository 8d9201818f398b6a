"""The audit trail as CSV: the columns, proper quoting, and no cell a spreadsheet runs.

A spreadsheet treats a cell that begins with =, +, -, @ (or a tab or carriage return, which
some strip first) as a formula: a job or token named `=HYPERLINK(...)` would become a link,
or worse, in the reviewer's spreadsheet. Such cells are prefixed with a single quote, as
OWASP advises, so they read as text; nothing else is changed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

import orjson

COLUMNS = (
    "at",
    "action",
    "actor",
    "job_id",
    "job_name",
    "event",
    "details",
    "changes",
    "stream_id",
    "version",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PAGE = 1000  # entries read per query while streaming


def safe_cell(value: Any) -> str:
    """One cell as text: times in ISO 8601, objects as compact JSON, formulas defused."""
    if value is None:
        text = ""
    elif isinstance(value, datetime):
        text = value.isoformat()
    elif isinstance(value, (dict, list)):
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_line(cells: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([safe_cell(cell) for cell in cells])
    return buffer.getvalue()


def audit_csv(
    first: tuple[list[dict[str, Any]], str | None],
    next_page: Callable[[str], tuple[list[dict[str, Any]], str | None]],
) -> Iterator[str]:
    """The header, then every entry of `first` and of the pages after it, page by page (so
    a trail of any length streams in constant memory)."""
    yield csv_line(COLUMNS)
    entries, cursor = first
    while True:
        yield "".join(csv_line(entry.get(column) for column in COLUMNS) for entry in entries)
        if cursor is None:
            return
        entries, cursor = next_page(cursor)
