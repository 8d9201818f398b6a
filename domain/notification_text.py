"""A notification's payload as text: the one-line summary (a chat message's title, a mail's
subject) and a plain-text body, for the channel types that show text rather than JSON."""

from __future__ import annotations

from typing import Any


def summary_line(payload: dict[str, Any]) -> str:
    """One line for a chat message or a mail subject."""
    if payload.get("event") == "test":
        return str(payload.get("message", "JobLedger test notification"))
    words = {
        "failed": "failed",
        "timed_out": "timed out",
        "abandoned": "was abandoned",
        "missed": "missed a run",
        "recovered": "recovered",
        "succeeded": "succeeded",
        "long_running": "is still running",
    }
    event = str(payload.get("event"))
    line = f"JobLedger: job {payload.get('job_name')!r} {words.get(event, event)}"
    if event == "recovered" and payload.get("failures"):
        line += f" after {payload['failures']} failed run(s)"
    elif payload.get("suppressed"):
        line += f" ({payload['suppressed']} more failure(s) since the last alert)"
    return line


def text_body(payload: dict[str, Any]) -> str:
    """A plain-text rendering: the summary, then each field on its own line."""
    lines = [summary_line(payload), ""]
    for key, value in payload.items():
        if value is not None and key != "message":
            lines.append(f"{key}: {value}")
    return "\n".join(lines)
