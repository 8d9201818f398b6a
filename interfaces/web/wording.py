"""Audit events in words: what a change did ("log level changed from Info to Verbose") and
each field's label, for every page that shows the audit trail.

The labels are the job form's own (job_fields.html reads them from FIELD_LABELS), so the
history says "retry after (seconds)" where the form says "Retry after (seconds)". A page
that shows a new kind of audit entry adds its wording to EVENT_WORDS; an event nobody has
worded yet is still shown in words, made from its class name.
Secret values never reach an event's changes (only "(set)"), and nothing here would show
one: a secret's change is worded as "secret NAME set" or "removed", whatever it holds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from domain.access_log import UNKNOWN

Changes = Mapping[str, Mapping[str, Any]]

# The job form's labels, by field name (job_fields.html uses these for its <label>s).
FIELD_LABELS: dict[str, str] = {
    "name": "Name",
    "description": "Description",
    "job_type": "Job type",
    "program": "Program",
    "parameters": "Parameters",
    "parameters_schema": "Parameters schema",
    "schedule": "Schedule",
    "cron": "CRON expression",
    "timezone": "Time zone",
    "log_level": "Log level",
    "enabled": "Enabled",
    "timeout_seconds": "Timeout (seconds)",
    "overlap": "If the previous run is still going",
    "misfire": "Missed fire times",
    "max_retries": "Retries",
    "retry_backoff_seconds": "Retry after (seconds)",
    "overridable_parameters": "Parameters operators may override",
    "folder": "Folder",
    "tags": "Tags",
    "cloned_from": "Cloned from",
    "log_retention_days": "Keep run logs for (days)",
    "run_retention_days": "Keep runs for (days)",
    "keep_last_runs": "Always keep the logs of the last runs",
    "deleted": "Deleted",
}

# Where a label is not a noun, the phrase a sentence uses for the field instead.
_SUBJECTS: dict[str, str] = {
    "overlap": "what happens if the previous run is still going",
    "misfire": "what happens to missed fire times",
}

SECRET_PREFIX = "secrets."


def field_label(field: str) -> str:
    """The label a page shows for a changed field: "Retry after (seconds)", "Secret API_KEY"."""
    if field.startswith(SECRET_PREFIX):
        return f"Secret {field.removeprefix(SECRET_PREFIX)}"
    return FIELD_LABELS.get(field) or field.replace("_", " ").capitalize()


def _subject(field: str) -> str:
    """The field as a sentence names it: "retry after (seconds)"."""
    if field in _SUBJECTS:
        return _SUBJECTS[field]
    label = field_label(field)
    if field.startswith(SECRET_PREFIX):
        return "secret " + label.removeprefix("Secret ")
    return label[:1].lower() + label[1:]


def value_words(field: str, value: Any) -> str:
    """A changed value as a sentence shows it; a secret's is only whether it is set."""
    if field.startswith(SECRET_PREFIX):
        return "set" if value is not None else "not set"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) if value else "none"
    if field == "schedule" and isinstance(value, dict) and "cron" in value:
        return f"“{value['cron']}” in {value.get('timezone', 'UTC')}"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _from_to(field: str, change: Mapping[str, Any]) -> str:
    before, after = change.get("from"), change.get("to")
    subject = _subject(field)
    if field.startswith(SECRET_PREFIX):
        if after is None:
            return f"{subject} removed"
        return f"{subject} replaced" if before is not None else f"{subject} set"
    if field == "parameters_schema" and (before is None or after is None):
        return f"{subject} {'removed' if after is None else 'set'}"
    if field in ("description", "program", "parameters", "parameters_schema"):
        return f"{subject} changed"  # too long for a sentence: the table shows both
    if before is None and field == "schedule":
        return f"{subject} set to {value_words(field, after)}"
    if after is None and field == "schedule":
        return f"{subject} removed"
    return f"{subject} changed from {value_words(field, before)} to {value_words(field, after)}"


def form_order(field: str) -> tuple[int, str]:
    """A sort key: fields in the job form's order, then the rest (secrets) by name."""
    order = list(FIELD_LABELS)
    return (order.index(field) if field in order else len(order), field)


def _each_field(changes: Changes) -> str:
    return "; ".join(_from_to(field, changes[field]) for field in sorted(changes, key=form_order))


def _renamed(changes: Changes) -> str:
    change = changes.get("name", {})
    return f"renamed from “{change.get('from')}” to “{change.get('to')}”"


def _moved(changes: Changes) -> str:
    before, after = changes.get("folder", {}).get("from"), changes.get("folder", {}).get("to")
    if not after:
        return f"moved out of folder “{before}”"
    return f"moved to folder “{after}”" + (f" from “{before}”" if before else "")


def _fixed(words: str) -> Callable[[Changes], str]:
    return lambda _changes: words


# Event class name -> its words. Events that change fields and are not here are worded by
# their fields (or, with none, by their name).
EVENT_WORDS: dict[str, Callable[[Changes], str]] = {
    "Registered": _fixed("created"),
    "Deleted": _fixed("deleted"),
    "Enabled": _fixed("enabled"),
    "Disabled": _fixed("disabled"),
    "Renamed": _renamed,
    "Unscheduled": _fixed("schedule removed"),
    "FolderChanged": _moved,
    # Recorded when a store from before unique names is opened: an earlier job holds it.
    "NameShared": _fixed("flagged for renaming: an earlier job has the same name"),
}


def _name_words(event_name: str) -> str:
    """ "LogLevelChanged" -> "log level changed": an event nobody has worded yet."""
    return " ".join(re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+", event_name)).lower()


def describe_event(event_name: str, changes: Changes) -> str:
    """One audit event in words, lower case: "log level changed from Info to Verbose"."""
    worded = EVENT_WORDS.get(event_name)
    if worded is not None:
        return worded(changes)
    if changes:
        return _each_field(changes)
    return _name_words(event_name) or event_name


def describe_events(events: Sequence[tuple[str, Changes]]) -> str:
    """Several events saved together, as one sentence starting with a capital."""
    text = "; ".join(describe_event(name, changes) for name, changes in events)
    return text[:1].upper() + text[1:]


def describe_entry(entry: dict[str, Any]) -> str:
    """What a run or access entry records, in words (a job change is shown by its table).
    Never a token: only its name and role."""
    details = entry["details"]
    job = f"“{entry['job_name']}”" if entry.get("job_name") else "a job"
    token = f"“{details.get('token_name', UNKNOWN)}”"
    match entry["action"]:
        case "run.requested":
            parameters = details.get("parameters") or {}
            given = ", ".join(f"{k} = {orjson.dumps(v).decode()}" for k, v in parameters.items())
            how = "now"
            if "trigger_id" in details:  # a webhook's call
                how = f"by webhook from {details.get('client', UNKNOWN)}"
            return f"Ran {job} {how}" + (f", with {given}" if given else ", with no parameters")
        case "run.cancelled":
            return f"Cancelled a run of {job}"
        case "token.created":
            return f"Created the {details.get('role', '')} token {token}"
        case "token.revoked":
            return f"Revoked the {details.get('role', '')} token {token}"
        case "sign_in.succeeded":
            return f"Signed in with the token {token} from {details.get('client', UNKNOWN)}"
        case "sign_in.failed":
            why = "was not recognised"
            if details.get("token_name", UNKNOWN) != UNKNOWN:
                why = f"{token} is revoked"
            return f"A sign-in from {details.get('client', UNKNOWN)} failed: the token {why}"
        case "trigger.created":
            return f"Created the webhook trigger “{details.get('trigger_name', '')}” of {job}"
        case "trigger.revoked":
            return f"Revoked a webhook trigger of {job}"
        case "channel.created" | "channel.changed" | "channel.deleted" | "channel.tested":
            return _describe_channel(entry)
        case "webhook.refused":
            return (
                f"Refused a webhook call from {details.get('client', UNKNOWN)} "
                f"({details.get('status', '')}): {details.get('reason', '')}"
            )
    return str(entry["event"])


def _describe_channel(entry: dict[str, Any]) -> str:
    """A notification channel's change in words: secrets by name only, never a value."""
    details, changes = entry["details"], entry.get("changes") or {}
    kind = f"{details['channel_type']} " if details.get("channel_type") else ""
    channel = f"the {kind}channel “{details.get('channel_name') or UNKNOWN}”"
    match entry["action"]:
        case "channel.created":
            secrets = ", ".join(details.get("secrets") or [])
            return f"Created {channel}" + (f" with the secrets {secrets}" if secrets else "")
        case "channel.deleted":
            return f"Deleted {channel} (its secrets are destroyed)"
        case "channel.tested":
            return f"Sent a test message to {channel}"
    if "name" in changes:
        return f"Renamed {channel} from “{changes['name'].get('from', '')}”"
    if "config" in changes:
        return f"Changed the settings of {channel}"
    if "secret" in details:
        return f"{details.get('secret_change', 'changed').capitalize()} the secret " + (
            f"{details['secret']} of {channel}"
        )
    return f"Changed {channel}"
