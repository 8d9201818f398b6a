"""Secret values are masked in every form a program is likely to print them."""

from __future__ import annotations

import base64
import html
import json
from urllib.parse import quote, quote_plus

import pytest

from domain.redaction import MASK, Redactor, secret_forms

SECRET = 'p@ss w/rd+é?&="x\\y'


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        base64.b64encode(SECRET.encode()).decode(),
        base64.b64encode(SECRET.encode()).decode().rstrip("="),
        base64.urlsafe_b64encode(SECRET.encode()).decode(),
        base64.urlsafe_b64encode(SECRET.encode()).decode().rstrip("="),
        quote(SECRET, safe=""),
        quote_plus(SECRET),
        quote(SECRET),
        quote(SECRET, safe="").lower(),
        json.dumps(SECRET)[1:-1],
        json.dumps(SECRET, ensure_ascii=False)[1:-1],
        repr(SECRET),
        repr(SECRET)[1:-1],
        ascii(SECRET)[1:-1],
        repr(SECRET.encode())[2:-1],
        SECRET.replace("\\", "\\\\"),
        html.escape(SECRET),
        html.escape(SECRET, quote=False),
        SECRET.replace("&", "&amp;").replace('"', "&#34;"),
        SECRET.replace("&", "&amp;").replace('"', "&#x22;"),
        quote(quote(SECRET, safe=""), safe=""),
        quote(quote_plus(SECRET), safe=""),
        quote(quote(SECRET, safe=""), safe="").lower(),
    ],
)
def test_each_form_of_a_secret_is_masked(form):
    text = Redactor([SECRET]).redact(f"before {form} after")
    assert text == f"before {MASK} after"


@pytest.mark.parametrize(
    ("secret", "form"),
    [
        ("back\\slash", "back\\\\slash"),
        ("it's\\x", '"it\'s\\\\x"'),
        ("it's\"x", "'it\\'s\"x'"),
        ("it's<b>", "it&#x27;s&lt;b&gt;"),
        ("it's<b>", "it&#39;s&lt;b&gt;"),
        ("it's<b>", "it&#039;s&lt;b&gt;"),
        ("it's<b>", "it&apos;s&lt;b&gt;"),
        ('a"b&c', "a&quot;b&amp;c"),
        ("a/b c", "a%252Fb%2520c"),
        ("a/b c", "a%252fb%2bc"),
    ],
)
def test_a_secret_is_masked_in_repr_html_and_double_url_forms(secret, form):
    assert Redactor([secret]).redact(f"x={form};") == f"x={MASK};"


def test_a_value_without_special_characters_adds_no_escaped_forms():
    # The redactor runs on every log line: forms equal to the value only cost time.
    plain = "correct-horse-battery"
    assert {f for f in secret_forms(plain) if plain in f or f in plain} == {plain}


@pytest.mark.parametrize("prefix", ["u:", "us:", "use:"])
def test_a_secret_inside_a_longer_base64_payload_is_masked(prefix):
    # Basic auth encodes "user:password" together; every byte alignment must be caught.
    secret = "correct-horse-battery"
    header = base64.b64encode(f"{prefix}{secret}".encode()).decode()
    text = Redactor([secret]).redact(f"Authorization: Basic {header}")
    masked = text.removeprefix("Authorization: Basic ")
    assert MASK in masked
    # What is left visible is the few characters that mix in the neighbouring bytes.
    visible = masked.replace(MASK, "")
    assert len(visible) <= len(prefix) * 4 // 3 + 4


def test_longest_value_first_so_an_overlapping_secret_is_masked_whole():
    redactor = Redactor(["abcd", "abcdefgh"])
    assert redactor.redact("x abcdefgh y abcd") == f"x {MASK} y {MASK}"


def test_short_values_are_masked_only_as_whole_tokens():
    redactor = Redactor(["42", ""])
    assert redactor.redact("pin=42 and 1425 and x42") == f"pin={MASK} and 1425 and x42"


def test_no_secrets_leaves_text_alone():
    redactor = Redactor([])
    assert not redactor
    assert redactor.redact("anything") == "anything"
    assert redactor.redact_optional(None) is None
