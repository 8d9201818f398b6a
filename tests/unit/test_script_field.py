"""The job form's Script field: a PowerShell script edited as text, mapped to and from the
program JSON on the server (the API is unchanged), byte for byte; and a script change in
History as a line diff."""

from __future__ import annotations

from typing import Any

from domain.errors import InvalidInput
from interfaces.web.forms import Errors, job_raw, parse_job_form
from interfaces.web.script_diff import line_diff, program_diffs
from interfaces.web.script_field import submitted_script

SCRIPT = "\nparam($name)\n\nif ($name) {\n\tWrite-Output $name\n}\n"


def browser_sent(text: str) -> str:
    """What a browser submits for a textarea holding `text`: every newline as CRLF."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def form(**fields: str) -> dict[str, Any]:
    return {"name": "Scripted", "job_type": "powershell", "program": "{}", **fields}


def test_a_script_comes_back_exactly_as_typed_whatever_the_browser_sends() -> None:
    parsed = parse_job_form(form(script=browser_sent(SCRIPT), script_newline="lf"), new=True)
    assert not parsed.errors
    assert parsed.config["program"] == {"script": SCRIPT}


def test_a_crlf_script_keeps_its_crlf_line_endings() -> None:
    crlf = "Write-Output 1\r\n\tWrite-Output 2\r\n"
    raw = job_raw(job(crlf))
    assert raw["script_newline"] == "crlf"
    parsed = parse_job_form(
        form(script=browser_sent(raw["script"]), script_newline="crlf"), new=True
    )
    assert parsed.config["program"] == {"script": crlf}
    assert submitted_script("a\r\nb", "lf") == "a\nb"


def job(script: str, **options: Any) -> dict[str, Any]:
    return {
        "name": "Scripted",
        "job_type": "powershell",
        "program": {"script": script, **options},
        "parameters": {},
        "log_level": "Info",
        "enabled": True,
    }


def test_the_form_shows_the_script_as_text_and_the_rest_of_the_program_as_json() -> None:
    raw = job_raw(job(SCRIPT, fail_on_native_exit_code=True))
    assert raw["script"] == SCRIPT
    assert raw["program"] == '{\n  "fail_on_native_exit_code": true\n}'
    parsed = parse_job_form(
        form(program=raw["program"], script=browser_sent(raw["script"]), script_newline="lf"),
        new=False,
    )
    assert parsed.config["program"] == {"script": SCRIPT, "fail_on_native_exit_code": True}


def test_an_emptied_script_is_refused_beside_the_script_field() -> None:
    parsed = parse_job_form(form(script=""), new=True)
    assert not parsed.errors  # the form parsed; the job type's schema refuses it
    assert parsed.config["program"] == {"script": ""}
    errors = Errors()
    errors.add(InvalidInput("program.script", "should be non-empty"))
    assert errors.by_field == {"script": "program.script: should be non-empty"}


def test_a_script_in_the_program_json_is_kept_when_the_script_field_is_empty() -> None:
    parsed = parse_job_form(form(program='{"script": "Get-Date"}', script=""), new=True)
    assert parsed.config["program"] == {"script": "Get-Date"}


def test_other_job_types_ignore_the_script_field() -> None:
    parsed = parse_job_form(
        form(job_type="command", program='{"argv": ["true"]}', script="Get-Date"), new=True
    )
    assert parsed.config["program"] == {"argv": ["true"]}
    assert (
        job_raw({**job(""), "job_type": "command", "program": {"argv": ["true"]}})["script"] == ""
    )


def test_a_script_change_is_a_line_diff_with_added_and_removed_lines_marked() -> None:
    before = {"script": "a\nb\nc\n"}
    after = {"script": "a\nB\nc\nd\n", "fail_on_native_exit_code": True}
    [diff] = program_diffs(before, after)
    assert diff["key"] == "script"
    kinds = [(line["kind"], line["mark"], line["text"]) for line in diff["lines"]]
    assert kinds == [
        ("hunk", "", "@@ -1,3 +1,4 @@"),
        ("same", " ", "a"),
        ("removed", "-", "b"),
        ("added", "+", "B"),
        ("same", " ", "c"),
        ("added", "+", "d"),
    ]


def test_no_diff_when_the_script_is_unchanged_and_notes_for_endings() -> None:
    assert program_diffs({"script": "x"}, {"script": "x", "fail_on_native_exit_code": True}) == []
    assert program_diffs({"argv": ["a"]}, {"argv": ["b"]}) == []
    assert [line["text"] for line in line_diff("a\n", "a\r\n")] == [
        "(line endings changed from LF to CRLF)"
    ]
    assert line_diff("a", "a\n")[-1]["text"] == "(the text now ends with a newline)"
    # An HTTP body given as text is diffed too; a JSON body is not text.
    assert program_diffs({"body": "x=1"}, {"body": "x=2"})[0]["key"] == "body"
    assert program_diffs({"body": {"x": 1}}, {"body": {"x": 2}}) == []
