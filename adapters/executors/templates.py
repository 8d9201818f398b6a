"""`{{parameters.name}}` and `{{secrets.name}}` placeholders in an HTTP job's request.

Deliberately tiny: a placeholder names one value, nothing is evaluated. In the URL a value is
percent-encoded, so a parameter cannot change the URL's structure (add a path, a query, a
host); `{{parameters.base_url|raw}}` inserts it as written, for a base URL kept in a
parameter. In the body, a JSON string that is exactly one placeholder becomes the value
itself (a number stays a number); elsewhere values are inserted as text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from domain.errors import InvalidInput

PLACEHOLDER = re.compile(
    r"\{\{\s*(?P<scope>parameters|secrets)\.(?P<name>[A-Za-z_][A-Za-z0-9_-]*)"
    r"\s*(?:\|\s*(?P<filter>raw)\s*)?\}\}"
)


class Values:
    """The run's parameters and secrets, as the placeholders see them."""

    def __init__(self, parameters: dict[str, Any], secrets: dict[str, str]) -> None:
        self._scopes: dict[str, dict[str, Any]] = {"parameters": parameters, "secrets": secrets}

    def lookup(self, match: re.Match[str], field: str) -> Any:
        scope, name = match["scope"], match["name"]
        values = self._scopes[scope]
        if name not in values:
            # Names only, never a value: this message may be logged.
            raise InvalidInput(field, f"{{{{{scope}.{name}}}}} names no {scope[:-1]} of the job")
        return values[name]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def render_text(
    template: str, values: Values, field: str, encode: Callable[[str], str] | None = None
) -> str:
    """Replace every placeholder in `template` with its value as text (encoded if asked)."""

    def replace(match: re.Match[str]) -> str:
        text = _text(values.lookup(match, field))
        return text if encode is None or match["filter"] == "raw" else encode(text)

    return PLACEHOLDER.sub(replace, template)


def render_url(template: str, values: Values) -> str:
    return render_text(template, values, "program.url", lambda text: quote(text, safe=""))


def render_body(template: Any, values: Values, field: str = "program.body") -> Any:
    """A JSON body rendered value by value; a string body rendered as text."""
    if isinstance(template, str):
        whole = PLACEHOLDER.fullmatch(template)
        if whole is not None and field != "program.body":
            return values.lookup(whole, field)
        return render_text(template, values, field)
    if isinstance(template, dict):
        return {key: render_body(item, values, f"{field}.{key}") for key, item in template.items()}
    if isinstance(template, list):
        return [render_body(item, values, f"{field}.{i}") for i, item in enumerate(template)]
    return template
