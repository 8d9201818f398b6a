"""Masks a job's secret values, in every form a program is likely to print them, with `***`.

A program can leak a secret verbatim, or encoded on its way to somewhere: in an HTTP basic
auth header (base64), a query string (URL-encoding) or a JSON body (escaping). Every secret
value is therefore searched for in each of those forms, and every match is replaced before
an entry (or a run's error text) is recorded. Longer forms are tried first, so a value that
contains another secret is masked whole rather than leaving its remainder visible.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"

# Values (and encoded forms) shorter than this are masked only where they stand alone as a
# token, not inside longer words: masking every "a" or "12" in a log would make it unreadable
# and, by the pattern of the holes, tell the reader the secret anyway. A short secret is a
# weak one; we still mask it where it appears on its own ("pin=123" -> "pin=***").
MIN_SUBSTRING_LENGTH = 4
# The part of a base64 stream that a secret in the middle of a longer payload determines by
# itself (basic auth encodes "user:password" together) is only searched for when at least
# this long, so a short fragment cannot match unrelated base64 by chance.
MIN_EMBEDDED_BASE64 = 8
_WORD = r"[A-Za-z0-9_]"


def _base64_forms(raw: bytes) -> set[str]:
    """The value on its own, standard and URL-safe alphabets, with and without padding, and
    the characters it fixes when it sits at any of the three byte offsets of a longer stream."""
    forms: set[str] = set()
    standard = base64.b64encode(raw).decode()
    forms.update({standard, standard.rstrip("=")})
    for offset in (0, 1, 2):
        encoded = base64.b64encode(b"\0" * offset + raw).decode().rstrip("=")
        # Character i covers bits [6i, 6i+6); keep those that lie wholly within the value.
        first = -(-8 * offset // 6)
        last = (8 * offset + 8 * len(raw)) // 6
        core = encoded[first:last]
        if len(core) >= MIN_EMBEDDED_BASE64:
            forms.add(core)
    forms |= {f.replace("+", "-").replace("/", "_") for f in forms}
    return forms


def secret_forms(value: str) -> set[str]:
    """Every form of `value` the redactor looks for."""
    if not value:
        return set()
    raw = value.encode()
    forms = {value}
    forms |= _base64_forms(raw)
    for url in (quote(value, safe=""), quote_plus(value), quote(value)):
        forms.add(url)
        # Some encoders write percent escapes in lowercase hex.
        forms.add(re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), url))
    forms.add(json.dumps(value)[1:-1])
    forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
    return {f for f in forms if f}


class Redactor:
    """Replaces every form of the given secret values with `***`. Cheap when there are none."""

    def __init__(self, values: Iterable[str]) -> None:
        forms: set[str] = set()
        for value in values:
            forms |= secret_forms(value)
        # Longest first: the regex engine takes the first alternative that matches.
        ordered = sorted(forms, key=lambda f: (-len(f), f))
        # The longest text a mask can replace: a reader that cuts text must read this far
        # past its cut to mask a secret across it.
        self.longest = len(ordered[0]) if ordered else 0
        parts = [
            re.escape(f)
            if len(f) >= MIN_SUBSTRING_LENGTH
            else f"(?<!{_WORD}){re.escape(f)}(?!{_WORD})"
            for f in ordered
        ]
        self._pattern = re.compile("|".join(parts)) if parts else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def redact(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)

    def redact_optional(self, text: str | None) -> str | None:
        return None if text is None else self.redact(text)
