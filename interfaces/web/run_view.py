"""What the run page says about a run: its status as a sentence, its log when empty, its
attempts and its parameters.

The status and empty-log sentences are also written by static/logs.js when the page follows a
run live; the two must say the same words (tests/browser checks the live ones).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from domain.retry import RetryPolicy
from domain.run_status import FINISHED_STATUSES


def status_sentence(run: dict[str, Any]) -> str:
    """The run's status in a sentence: "This run succeeded.", "This run is running on ..."."""
    status = str(run["status"])
    if status == "queued":
        return "This run is waiting for a worker."
    if status == "running":
        sentence = f"This run is running on worker {run.get('worker') or 'unknown'}."
        if run.get("cancel_requested_by"):
            sentence += f" Cancel requested by {run['cancel_requested_by']}."
        return sentence
    if status == "succeeded":
        return "This run succeeded."
    if status == "failed":
        code = run.get("exit_code")
        return "This run failed." if code is None else f"This run failed with exit code {code}."
    if status == "timed_out":
        return "This run timed out."
    if status == "cancelled":
        actor = run.get("cancel_requested_by")
        return f"This run was cancelled by {actor}." if actor else "This run was cancelled."
    if status in ("skipped", "abandoned"):
        return f"This run was {status}."
    return f"This run is {status.replace('_', ' ')}."


def empty_log_sentence(run: dict[str, Any], min_level: str) -> str:
    """What the log says when it shows no entry."""
    finished = run["status"] in FINISHED_STATUSES
    if min_level:
        return f"No log entries at {min_level} or above{'' if finished else ' yet'}."
    if not finished:
        return "No log entries yet."
    if run.get("log_purged_at"):
        count = int(run.get("log_purged_entries") or 0)
        entries = "entry" if count == 1 else "entries"
        return f"This run's log ({count} {entries}) was deleted by retention."
    sentence = "This run wrote no log entries."
    discarded = int(run.get("discarded_entries") or 0)
    if discarded:
        entries = "entry" if discarded == 1 else "entries"
        were = "was" if discarded == 1 else "were"
        sentence += f" {discarded} {entries} below {run['log_level']} {were} discarded."
    return sentence


def attempts_of(job: dict[str, Any] | None) -> int | None:
    """How many attempts the job's retry policy now allows a run (None if the job is gone).

    The policy a retry follows is the job's when the attempt before it ended, so this is the
    best count there is; the page shows it only while the run's attempt is within it.
    """
    if job is None:
        return None
    return RetryPolicy.from_policies(job.get("policies") or {}).max_retries + 1


@dataclass(frozen=True)
class ParameterLine:
    """One top-level key of the parameters, as lines of pretty-printed JSON."""

    key: str
    text: str
    overridden: bool


def parameter_lines(parameters: dict[str, Any], overrides: list[str]) -> list[ParameterLine]:
    """The parameters as the lines of their pretty-printed JSON object, between "{" and "}",
    one item per key (sorted), so the page can mark the overridden ones."""
    keys = sorted(parameters)
    lines = []
    for i, key in enumerate(keys):
        value = json.dumps(parameters[key], indent=2, ensure_ascii=False, sort_keys=True)
        name = json.dumps(key, ensure_ascii=False)
        text = f"  {name}: " + value.replace("\n", "\n  ") + ("," if i < len(keys) - 1 else "")
        lines.append(ParameterLine(key, text, key in overrides))
    return lines
