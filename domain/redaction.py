"""Masks a job's secret values, in every form a program is likely to print them, with `***`.

A program can leak a secret verbatim, or encoded on its way to somewhere: in an HTTP basic
auth header (base64), a query string (URL-encoding, once or twice), a JSON body or a Python
`repr()` (backslash escaping), or an HTML page (entity escaping). Every secret value is
therefore searched for in each of those forms, and every match is replaced before
an entry (or a run's error text) is recorded. Longer forms are tried first, so a value that
contains another secret is masked whole rather than leaving its remainder visible.
"""

from __future__ import annotations

import base64
import html
import itertools
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


# How HTML escapers write the two quotes: html.escape, markupsafe/Jinja, PHP, XML.
_HTML_DOUBLE_QUOTES = ("&quot;", "&#34;", "&#x22;")
_HTML_SINGLE_QUOTES = ("&#x27;", "&#39;", "&#039;", "&apos;")


def _url_forms(value: str) -> set[str]:
    """Percent-encoded, with and without `+` for spaces and `/` kept, then encoded once more
    (a URL carried inside another URL's query); each in upper- and lowercase hex."""
    forms: set[str] = set()
    for url in (quote(value, safe=""), quote_plus(value), quote(value)):
        # Some encoders write percent escapes in lowercase hex, in both layers alike.
        lower = _lower_hex(url)
        forms.update({url, lower, quote(url, safe=""), _lower_hex(quote(lower, safe=""))})
    return forms


def _lower_hex(url: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), url)


def _escaped_forms(value: str) -> set[str]:
    """Backslash escaping as JSON and Python's repr() and ascii() write it, with and without
    the quotes repr() puts around it, and backslashes doubled alone (a C-style string)."""
    forms = {json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    forms.add(value.replace("\\", "\\\\"))
    for literal in (repr(value), ascii(value), repr(value.encode())[1:]):
        # The quotes too, so the mask covers the whole literal; but a value that needs no
        # escaping is already masked inside its quotes, and gains no form.
        if literal[1:-1] != value:
            forms.update({literal, literal[1:-1]})
    return forms


def _html_forms(value: str) -> set[str]:
    """Entity-escaped as html.escape writes it, and with the other spellings of the quotes
    that common escapers use; quotes left alone as escapers for element text do."""
    if not any(c in value for c in "&<>\"'"):
        return set()
    base = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    forms = {base}
    doubles = _HTML_DOUBLE_QUOTES if '"' in value else ('"',)
    singles = _HTML_SINGLE_QUOTES if "'" in value else ("'",)
    for double, single in itertools.product(doubles, singles):
        forms.add(base.replace('"', double).replace("'", single))
    forms.add(html.escape(value))
    return forms


def secret_forms(value: str) -> set[str]:
    """Every form of `value` the redactor looks for. Base64 aside, each encoder leaves a
    value without its special characters unchanged, so such a value adds no other form."""
    if not value:
        return set()
    forms = {value}
    forms |= _base64_forms(value.encode())
    forms |= _url_forms(value)
    forms |= _escaped_forms(value)
    forms |= _html_forms(value)
    return {f for f in forms if f}


def _trie_pattern(forms: Iterable[str]) -> str:
    """One regex matching the longest of `forms` that starts at a position. The forms of a
    value share long prefixes; a trie tests each shared prefix once per position, where a
    flat alternation would test it once per form. Only the first `_TRIE_DEPTH` characters
    go into the trie, so a long secret cannot nest groups deeper than the regex parser
    recurses; the rest of each form follows as a flat alternative."""
    root = _Node()
    for form in forms:
        node = root
        for char in form[:_TRIE_DEPTH]:
            node = node.children.setdefault(char, _Node())
        node.rests.append(form[_TRIE_DEPTH:])
    return root.pattern()


_TRIE_DEPTH = 24


class _Node:
    __slots__ = ("children", "rests")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.rests: list[str] = []

    def pattern(self) -> str:
        # Continuations longest first, the form ending here last, so the longest form wins.
        branches = [re.escape(c) + child.pattern() for c, child in sorted(self.children.items())]
        branches += [re.escape(rest) for rest in sorted(self.rests, key=lambda r: -len(r))]
        if len(branches) == 1:
            return branches[0]
        return "(?:" + "|".join(branches) + ")"


class Redactor:
    """Replaces every form of the given secret values with `***`. Cheap when there are none."""

    def __init__(self, values: Iterable[str]) -> None:
        forms: set[str] = set()
        for value in values:
            forms |= secret_forms(value)
        # The longest text a mask can replace: a reader that cuts text must read this far
        # past its cut to mask a secret across it.
        self.longest = max(map(len, forms), default=0)
        long = [f for f in forms if len(f) >= MIN_SUBSTRING_LENGTH]
        # Short ones after the long, longest first: the regex engine takes the first
        # alternative that matches.
        short = sorted((f for f in forms if len(f) < MIN_SUBSTRING_LENGTH), key=lambda f: -len(f))
        parts = [_trie_pattern(long)] if long else []
        parts += [f"(?<!{_WORD}){re.escape(f)}(?!{_WORD})" for f in short]
        self._pattern = re.compile("|".join(parts)) if parts else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def redact(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)

    def redact_optional(self, text: str | None) -> str | None:
        return None if text is None else self.redact(text)
