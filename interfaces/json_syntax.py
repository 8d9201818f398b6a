"""JSON typed by people (the pages' JSON editors), read with errors that say where and what:
"not valid JSON at line 3, column 5: expected a property name in double quotes"."""

from __future__ import annotations

import json
from typing import Any

from domain.errors import InvalidInput

# The json module's messages, in words a person editing a form reads without a manual.
_REASONS = {
    "Expecting property name enclosed in double quotes": (
        "expected a property name in double quotes"
    ),
    "Expecting value": "expected a value (text in double quotes, a number, {…}, […], "
    "true, false or null)",
    "Expecting ',' delimiter": "expected a comma between two items",
    "Expecting ':' delimiter": "expected a colon after the property name",
    "Unterminated string starting at": 'a string starts here but is never closed with a "',
    "Extra data": "more text follows the end of the JSON value",
    "Invalid control character at": "a line break or tab inside a string must be written "
    "as \\n or \\t",
    "Invalid \\escape": "a backslash starts an escape that JSON does not know",
    "Illegal trailing comma before end of object": "a comma before } is not allowed",
    "Illegal trailing comma before end of array": "a comma before ] is not allowed",
}


def syntax_error(error: json.JSONDecodeError) -> str:
    """Where the text stops being JSON, and why."""
    reason = _REASONS.get(error.msg) or (error.msg[:1].lower() + error.msg[1:])
    return f"not valid JSON at line {error.lineno}, column {error.colno}: {reason}"


def parse_json(text: str, field: str) -> Any:
    """The value `text` holds; InvalidInput naming `field`, the line, the column and the
    fault if it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(field, syntax_error(error)) from None
    except RecursionError:
        raise InvalidInput(field, "is nested too deeply") from None
