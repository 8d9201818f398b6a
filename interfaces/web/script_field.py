"""A script edited as text: the job form's Script field and the program JSON it lives in.

A `powershell` program is {"script": "...", ...options}. The form shows the script as text
in its own field (a code editor on top of a <textarea>) and the rest of the program as JSON;
the API is unchanged. The script must come back byte for byte, but a browser submits every
textarea newline as CRLF whatever the text held, so the form carries the script's own line
ending (`script_newline`, "lf" or "crlf") and the server restores it.
"""

from __future__ import annotations

import json
from typing import Any

# Job types whose program holds a script edited as text, and the key that holds it.
SCRIPT_KEYS: dict[str, str] = {"powershell": "script"}
# The starting script for a new job of each such type (the rest of its program is {}).
SCRIPT_EXAMPLES: dict[str, str] = {"powershell": 'Write-Output "Hello, $($Parameters.name)"\n'}
NEWLINES = {"lf": "\n", "crlf": "\r\n"}


def newline_of(script: str) -> str:
    """ "crlf" for a script written with Windows line endings, else "lf"."""
    return "crlf" if "\r\n" in script else "lf"


def submitted_script(raw: str, newline: str) -> str:
    """The script as its author wrote it, from the text a browser submitted (CRLF lines)."""
    text = raw.replace("\r\n", "\n")
    return text.replace("\n", NEWLINES.get(newline, "\n"))


def split_program(job_type: str, program: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """(the program without its script, the script) for a script type; else (program, None)."""
    key = SCRIPT_KEYS.get(job_type)
    if key is None:
        return program, None
    script = program.get(key)
    rest = {k: v for k, v in program.items() if k != key}
    return rest, script if isinstance(script, str) else ""


def merge_script(job_type: str, program: Any, script: str) -> Any:
    """The program to save: the script field's text in its place (for a script type).

    An empty script field leaves a script typed into the program JSON alone (a form sent
    without the script field's help); otherwise the field is the script.
    """
    key = SCRIPT_KEYS.get(job_type)
    if key is None or not isinstance(program, dict):
        return program
    if not script and key in program:
        return program
    return {**program, key: script}


def form_values(job_type: str, program: dict[str, Any]) -> dict[str, str]:
    """The form's program, script and script_newline text for a stored program."""
    rest, script = split_program(job_type, program)
    return {
        "program": json.dumps(rest, indent=2, ensure_ascii=False),
        "script": script or "",
        "script_newline": newline_of(script or ""),
    }
