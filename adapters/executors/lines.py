"""How a line a program writes becomes a log entry: its level and its message.

Two conventions meet here. Any program may start a line with PowerShell's host prefixes
(`VERBOSE:`, `DEBUG:`, `INFO:`, `WARNING:`, `ERROR:`) to choose its level; otherwise stdout
is Info and stderr is Error. The wrappers JobLedger generates itself (PowerShell, Python)
need more than a prefix can carry (a message with newlines, a prefix-looking message), so
they write a record line: an ASCII record separator then a JSON object {"level", "message"},
level first, so a record cut short (the runner cuts lines at 64 KiB) still names its level.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from domain.errors import InvalidInput
from domain.log_level import LogLevel

# ASCII RS: never typed by a person, so a record line is never an ordinary line misread.
RECORD_MARK = "\x1e"
PREFIXES = {
    "VERBOSE:": LogLevel.Verbose,
    "DEBUG:": LogLevel.Debug,
    "INFO:": LogLevel.Info,
    "WARNING:": LogLevel.Warning,
    "ERROR:": LogLevel.Error,
}
STDOUT, STDERR = "stdout", "stderr"
DEFAULT_LEVEL = {STDOUT: LogLevel.Info, STDERR: LogLevel.Error}

# The start of a record whose JSON did not parse (cut at the line limit): its level, and
# what there is of its message.
_CUT_RECORD = re.compile(r'^\{\s*"level"\s*:\s*"(\w+)"\s*,\s*"message"\s*:\s*"(.*)$', re.DOTALL)
# The runner's note on a line it cut (adapters.executors.process).
CUT_NOTE = " … (line cut)"

LineParser = Callable[[str, str], "tuple[LogLevel, str] | None"]


def parse_prefixed(stream: str, line: str) -> tuple[LogLevel, str] | None:
    """A line's level from its prefix, else from its stream; None for a blank line."""
    if not line.strip():
        return None
    for prefix, level in PREFIXES.items():
        if line.startswith(prefix):
            message = line[len(prefix) :]
            return level, message[1:] if message.startswith(" ") else message
    return DEFAULT_LEVEL[stream], line


def record_line(level: LogLevel, message: str) -> str:
    """One record line (no newline) as a generated wrapper writes it."""
    return RECORD_MARK + json.dumps({"level": level.name, "message": message})


def parse_records(stream: str, line: str) -> tuple[LogLevel, str] | None:
    """A record line if it is one (from a generated wrapper), else a prefixed or plain line."""
    if line.startswith(RECORD_MARK):
        try:
            record = json.loads(line[1:])
            return LogLevel.parse(record["level"]), str(record["message"])
        except (ValueError, KeyError, TypeError, AttributeError, InvalidInput):
            cut = _cut_record(line[1:])
            # A malformed record is still output the user should see, not a lost line.
            return cut if cut is not None else (DEFAULT_LEVEL[stream], line[1:])
    return parse_prefixed(stream, line)


def _cut_record(text: str) -> tuple[LogLevel, str] | None:
    """The level and the readable part of a record cut short; None if it is not one."""
    match = _CUT_RECORD.match(text)
    if match is None:
        return None
    try:
        level = LogLevel.parse(match.group(1))
    except InvalidInput:
        return None
    body, note = match.group(2), ""
    if body.endswith(CUT_NOTE):
        body, note = body[: -len(CUT_NOTE)], CUT_NOTE
    return level, _json_string_prefix(body) + (note or " … (record cut)")


def _json_string_prefix(body: str) -> str:
    """Decode the start of a JSON string body, dropping an escape cut in the middle."""
    for trim in range(0, 7):  # the longest escape, \uXXXX, is six characters
        try:
            return str(json.loads('"' + body[: len(body) - trim] + '"'))
        except ValueError:
            continue
    return body
