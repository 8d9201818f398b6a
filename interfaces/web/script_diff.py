"""A program change as a line diff: what a save did to a script or a request body.

The history's before/after table shows a program as JSON, where a script is one long
string with its newlines escaped; a reader wants the lines that changed. For each text the
program holds (a PowerShell `script`, an HTTP `body` given as text) that differs, this
gives a unified diff (difflib), each line marked added, removed, unchanged or a hunk header;
the page marks them with classes (static/code.css), never inline styles.
"""

from __future__ import annotations

import difflib
from typing import Any

# Program keys whose value is text read as lines.
TEXT_KEYS = ("script", "body")
CONTEXT_LINES = 3
KINDS = {"+": "added", "-": "removed", " ": "same", "@": "hunk"}


def _text(program: Any, key: str) -> str | None:
    value = program.get(key) if isinstance(program, dict) else None
    return value if isinstance(value, str) else None


def _ending(text: str) -> str:
    return "CRLF" if "\r\n" in text else "LF"


def line_diff(before: str, after: str) -> list[dict[str, str]]:
    """The unified diff of two texts as lines {kind, mark, text} (no file headers)."""
    old, new = before.replace("\r\n", "\n"), after.replace("\r\n", "\n")
    lines: list[dict[str, str]] = []
    if old != new:
        diff = difflib.unified_diff(
            old.splitlines(), new.splitlines(), lineterm="", n=CONTEXT_LINES
        )
        for line in list(diff)[2:]:  # skip the ---/+++ headers
            kind = KINDS[line[:1]]
            if kind == "hunk":
                lines.append({"kind": kind, "mark": "", "text": line})
            else:
                lines.append({"kind": kind, "mark": line[:1], "text": line[1:]})
        if old.endswith("\n") != new.endswith("\n"):
            said = "now ends" if new.endswith("\n") else "no longer ends"
            lines.append({"kind": "note", "mark": "", "text": f"(the text {said} with a newline)"})
    if before and after and _ending(before) != _ending(after):
        note = f"(line endings changed from {_ending(before)} to {_ending(after)})"
        lines.append({"kind": "note", "mark": "", "text": note})
    return lines


def program_diffs(before: Any, after: Any) -> list[dict[str, Any]]:
    """For each text key that differs between two programs: {key, lines}."""
    diffs = []
    for key in TEXT_KEYS:
        old, new = _text(before, key), _text(after, key)
        if (old is None and new is None) or old == new:
            continue
        lines = line_diff(old or "", new or "")
        if lines:
            diffs.append({"key": key, "lines": lines})
    return diffs
