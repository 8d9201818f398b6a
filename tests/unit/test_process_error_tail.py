"""The error text of a failed program: its last error lines, cut only between lines."""

from __future__ import annotations

from adapters.executors.process import ERROR_TAIL_CHARS, _ErrorTail
from domain.redaction import Redactor

SECRET = "tok-0123456789abcdef"


def test_a_short_tail_is_kept_whole():
    tail = _ErrorTail()
    tail.add("first\n\nsecond")
    assert tail.text() == "first\nsecond"


def test_a_long_tail_is_cut_between_lines_so_the_mask_still_finds_a_secret():
    tail = _ErrorTail()
    # The secret's line straddles where a cut by characters alone would fall.
    tail.add("x" * 10 + " " + SECRET + " " + "y" * (ERROR_TAIL_CHARS - 33))
    tail.add("z" * 20)
    text = Redactor([SECRET]).redact(tail.text())
    assert text.startswith("…") and len(text) <= ERROR_TAIL_CHARS + 1
    assert "0123" not in text and "cdef" not in text
    assert text.endswith("z" * 20)


def test_a_single_overlong_line_is_not_cut_open():
    tail = _ErrorTail()
    tail.add("x" * (ERROR_TAIL_CHARS - 5) + SECRET)
    text = Redactor([SECRET]).redact(tail.text())
    assert "see the log" in text and "tok-" not in text and "cdef" not in text
