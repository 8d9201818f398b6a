"""How an output line becomes a log entry: prefixes, streams, record lines, the environment."""

from __future__ import annotations

import pytest

from adapters.executors.environment import child_environment
from adapters.executors.lines import (
    CUT_NOTE,
    STDERR,
    STDOUT,
    parse_prefixed,
    parse_records,
    record_line,
)
from domain.log_level import LogLevel


@pytest.mark.parametrize(
    ("stream", "line", "expected"),
    [
        (STDOUT, "copied 3 files", (LogLevel.Info, "copied 3 files")),
        (STDERR, "disk full", (LogLevel.Error, "disk full")),
        (STDOUT, "VERBOSE: connecting", (LogLevel.Verbose, "connecting")),
        (STDOUT, "DEBUG: token cache hit", (LogLevel.Debug, "token cache hit")),
        (STDERR, "INFO: on stderr, still Info", (LogLevel.Info, "on stderr, still Info")),
        (STDOUT, "WARNING: 2 tickets skipped", (LogLevel.Warning, "2 tickets skipped")),
        (STDOUT, "ERROR:no space after prefix", (LogLevel.Error, "no space after prefix")),
        (STDOUT, "warning: lowercase", (LogLevel.Info, "warning: lowercase")),
        (STDOUT, "  INFO: indented", (LogLevel.Info, "  INFO: indented")),
    ],
)  # fmt: skip
def test_a_line_takes_its_level_from_its_prefix_else_its_stream(stream, line, expected):
    assert parse_prefixed(stream, line) == expected


def test_blank_lines_are_not_entries():
    assert parse_prefixed(STDOUT, "") is None
    assert parse_prefixed(STDERR, "   ") is None


def test_a_record_line_carries_any_message_whole():
    message = "two\nlines, and WARNING: not a prefix"
    line = record_line(LogLevel.Debug, message)
    assert "\n" not in line
    assert parse_records(STDOUT, line) == (LogLevel.Debug, message)


def test_a_malformed_record_line_is_still_shown():
    assert parse_records(STDOUT, "\x1e{not json") == (LogLevel.Info, "{not json")
    assert parse_records(STDERR, '\x1e{"level": "Loud", "message": "x"}')[0] is LogLevel.Error


def test_plain_lines_beside_record_lines_follow_the_prefix_rule():
    assert parse_records(STDOUT, "WARNING: raw") == (LogLevel.Warning, "raw")


def test_the_child_environment_keeps_only_what_a_program_needs():
    parent = {
        "PATH": "/usr/bin",
        "HOME": "/home/ops",
        "LANG": "C.UTF-8",
        "LC_TIME": "en_GB.UTF-8",
        "TZ": "Europe/London",
        "JOBLEDGER_MASTER_KEY": "k",
        "JOBLEDGER_DATABASE_URL": "postgresql://u:pw@db/x",
        "PGPASSWORD": "pw",
        "AWS_SECRET_ACCESS_KEY": "aws",
        "LD_PRELOAD": "/evil.so",
    }
    env = child_environment({"API_KEY": "s3cret"}, parent=parent)
    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/home/ops",
        "LANG": "C.UTF-8",
        "LC_TIME": "en_GB.UTF-8",
        "TZ": "Europe/London",
        "API_KEY": "s3cret",
    }


def test_a_parent_without_path_still_gives_the_child_one():
    assert child_environment(parent={})["PATH"]


def test_a_record_cut_at_the_line_limit_keeps_its_level_and_the_readable_part():
    """A 70,000-character Write-Error is cut by the runner at 64 KiB: still an Error."""
    whole = "\x1e" + '{"level":"Error","message":"' + "x" * 70_000 + '"}'
    cut = whole[: 64 * 1024] + CUT_NOTE
    level, message = parse_records(STDOUT, cut)
    assert level is LogLevel.Error
    assert message.startswith("xxxx") and message.endswith(CUT_NOTE)
    assert set(message[: -len(CUT_NOTE)]) == {"x"}


@pytest.mark.parametrize("escape", ["\\u00e9", "\\n", '\\"'])
def test_an_escape_cut_in_half_is_dropped_not_shown_raw(escape):
    for keep in range(1, len(escape)):
        line = '\x1e{"level":"Warning","message":"caf' + escape[:keep] + CUT_NOTE
        assert parse_records(STDOUT, line) == (LogLevel.Warning, "caf" + CUT_NOTE)


def test_a_record_cut_without_the_runners_note_says_so():
    level, message = parse_records(STDERR, '\x1e{"level": "Debug", "message": "half')
    assert (level, message) == (LogLevel.Debug, "half … (record cut)")


def test_proxies_and_the_globalization_switch_pass_but_not_psmodulepath():
    parent = {
        "PATH": "/usr/bin",
        "HTTPS_PROXY": "http://proxy:3128",
        "no_proxy": "localhost",
        "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1",
        "PSModulePath": "/opt/jobledger/modules",
    }
    env = child_environment(parent=parent)
    assert env == {
        "PATH": "/usr/bin",
        "HTTPS_PROXY": "http://proxy:3128",
        "no_proxy": "localhost",
        "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1",
    }
