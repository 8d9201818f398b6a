"""Turning submitted forms into command arguments, and command errors into field errors.

Every check that can be made before the command runs is made here; when one fails, the
application checks the fields that did parse (`check_the_rest`), so one submission reports
every field at fault at once. Nothing is saved until the whole form is valid.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from application.job_commands import POLICY_FIELDS
from domain import values
from domain.errors import FieldError, InvalidInput
from domain.job_policies import DEFAULT_POLICIES
from domain.schedule import CronSchedule
from interfaces.json_syntax import parse_json
from interfaces.web.script_field import SCRIPT_KEYS, form_values, merge_script, submitted_script

# Form fields of the job form, in page order; errors are keyed by these names.
JOB_FIELDS = (
    "name",
    "description",
    "folder",
    "tags",
    "job_type",
    "program",
    "script",
    "cron",
    "timezone",
    "parameters",
    "parameters_schema",
    "log_level",
    "enabled",
    "timeout_seconds",
    "overlap",
    "misfire",
    "max_retries",
    "retry_backoff_seconds",
    "log_retention_days",
    "run_retention_days",
    "keep_last_runs",
)
# Retention fields: blank means the global default (JOBLEDGER_*_RETENTION_DAYS).
RETENTION_FIELDS = ("log_retention_days", "run_retention_days", "keep_last_runs")
NEW_SECRET_ROWS = 2


def form_field(error_field: str) -> str:
    """The form field an InvalidInput's (possibly dotted) field name belongs to."""
    if error_field in ("schedule", "schedule.cron"):
        return "cron"
    if error_field == "schedule.timezone":
        return "timezone"
    if error_field == "program.script":  # edited in its own field (script_field.py)
        return "script"
    if error_field.startswith(("secret", "secrets")):
        return "secrets"
    head = error_field.split(".", 1)[0].split("[", 1)[0]  # tags[2] is the tags field
    return head if head in JOB_FIELDS else "form"


# Fields whose messages name the field (and a sub-field's path): a JSON editor's error is
# read beside a long text, and the message may point into it ("program.argv: ...").
NAMED_IN_MESSAGE = ("program", "script", "parameters", "parameters_schema", "secrets")


def error_text(error: FieldError) -> str:
    """The message as shown beside its field."""
    if form_field(error.field) in NAMED_IN_MESSAGE:
        return f"{error.field}: {error.message}"
    return error.message


@dataclass
class Errors:
    """Field name -> message, first error per field wins."""

    by_field: dict[str, str] = field(default_factory=dict)

    def add(self, error: InvalidInput) -> None:
        """Every field `error` names (it may name several)."""
        for each in error.errors:
            self.by_field.setdefault(form_field(each.field), error_text(each))

    def __bool__(self) -> bool:
        return bool(self.by_field)


def text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def json_object_field(raw: str, name: str, *, empty: dict[str, Any] | None = None) -> Any:
    """Parse a JSON editor's text; it must be an object."""
    if not raw.strip():
        if empty is not None:
            return empty
        raise InvalidInput(name, "is required: a JSON object such as {}")
    value = parse_json(raw, name)
    if not isinstance(value, dict):
        raise InvalidInput(name, f"must be a JSON object {{...}}, not {_json_kind(value)}")
    return value


def _json_kind(value: object) -> str:
    return {list: "an array", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number"
    )


def optional_int(raw: str, name: str) -> int | None:
    if not raw.strip():
        return None
    try:
        return int(raw.strip())
    except ValueError:
        raise InvalidInput(name, "must be a whole number") from None


@dataclass
class JobForm:
    """A submitted job form: what the user typed (to show again) and the parsed values."""

    raw: dict[str, str]
    config: dict[str, Any]
    secrets: dict[str, str]
    errors: Errors


def parse_job_form(form: Any, *, new: bool) -> JobForm:
    """Read and check a job form. `config` holds the command arguments that parsed."""
    raw = {name: text(form, name) for name in JOB_FIELDS}
    raw["enabled"] = "on" if form.get("enabled") else ""
    raw["script_newline"] = text(form, "script_newline") or "lf"
    errors = Errors()
    config: dict[str, Any] = {
        "name": raw["name"],
        "description": raw["description"],
        "folder": raw["folder"],
        # Tags are typed as words separated by commas or spaces.
        "tags": [tag for tag in re.split(r"[,\s]+", raw["tags"]) if tag],
        "log_level": raw["log_level"] or "Info",
        "enabled": bool(raw["enabled"]),
        "overlap": raw["overlap"] or DEFAULT_POLICIES["overlap"],
        "misfire": raw["misfire"] or DEFAULT_POLICIES["misfire"],
    }
    if new:
        config["job_type"] = raw["job_type"]
    checks: list[tuple[str, Any]] = [
        ("program", lambda: _program(raw)),
        ("parameters", lambda: json_object_field(raw["parameters"], "parameters", empty={})),
        ("parameters_schema", lambda: _optional_json_object(raw, "parameters_schema")),
        ("schedule", lambda: _schedule(raw["cron"], raw["timezone"])),
        ("timeout_seconds", lambda: optional_int(raw["timeout_seconds"], "timeout_seconds")),
        ("max_retries", lambda: _int_or(raw["max_retries"], "max_retries", 0)),
        (
            "retry_backoff_seconds",
            lambda: _int_or(raw["retry_backoff_seconds"], "retry_backoff_seconds", 60),
        ),
        ("name", lambda: values.job_name(raw["name"])),
        *[(f, partial(optional_int, raw[f], f)) for f in RETENTION_FIELDS],
    ]
    for key, check in checks:
        try:
            config[key] = check()
        except InvalidInput as error:
            errors.add(error)
    secrets: dict[str, str] = {}
    if new:
        secrets = _new_secrets(form, errors)
    return JobForm(raw=raw, config=config, secrets=secrets, errors=errors)


def check_the_rest(app: Any, parsed: JobForm, job_type: object, *, new: bool) -> None:
    """For a form already refused: let the application check the fields that did parse
    (nothing is saved), so the page marks every field at fault at once, not a few at a time
    (a program its job type's schema refuses is found only there)."""
    bad = parsed.errors.by_field
    fields = {
        key: value
        for key, value in parsed.config.items()
        if key != "job_type" and form_field(key) not in bad
    }
    try:
        app.check_job_fields(job_type, fields, change=not new)
    except InvalidInput as error:
        parsed.errors.add(error)


def _optional_json_object(raw: dict[str, str], name: str) -> dict[str, Any] | None:
    """A JSON editor that may be left empty: empty means none (a parameters schema)."""
    if not raw[name].strip():
        return None
    value: dict[str, Any] = json_object_field(raw[name], name)
    return value


def _program(raw: dict[str, str]) -> Any:
    """The program JSON, with the Script field's text in it for a script job type. The
    job type is the form's (an edit form sends its job's type in a hidden field)."""
    job_type = raw["job_type"]
    empty: dict[str, Any] | None = {} if job_type in SCRIPT_KEYS else None
    program = json_object_field(raw["program"], "program", empty=empty)
    return merge_script(job_type, program, submitted_script(raw["script"], raw["script_newline"]))


def _int_or(raw: str, name: str, default: int) -> int:
    value = optional_int(raw, name)
    return default if value is None else value


def _schedule(cron: str, timezone: str) -> dict[str, str] | None:
    """No cron means no schedule. Parsed here too so a bad cron is reported with the rest."""
    if not cron.strip():
        return None
    schedule = {"cron": cron.strip(), "timezone": timezone.strip() or "UTC"}
    CronSchedule.from_dict(schedule)
    return schedule


def _new_secrets(form: Any, errors: Errors) -> dict[str, str]:
    secrets: dict[str, str] = {}
    for row in range(1, NEW_SECRET_ROWS + 1):
        name = text(form, f"secret_name_{row}").strip()
        value = text(form, f"secret_value_{row}")
        if not name and not value:
            continue
        try:
            secrets[values.secret_name(name)] = values.secret_value(value)
        except InvalidInput as error:
            errors.add(error)
    return secrets


def command_kwargs(config: dict[str, Any]) -> dict[str, Any]:
    """Split parsed form values into register_job's keyword arguments."""
    policies = {key: config[key] for key in POLICY_FIELDS if key in config}
    rest = {key: value for key, value in config.items() if key not in POLICY_FIELDS}
    return {**rest, "policies": policies}


def job_raw(job: dict[str, Any]) -> dict[str, str]:
    """A stored job (as the jobs view returns it) as the form's text values."""
    schedule = job.get("schedule") or {}
    policies = job.get("policies") or {}
    timeout = policies.get("timeout_seconds")
    return {
        "name": job["name"],
        "description": job.get("description") or "",
        "folder": job.get("folder") or "",
        "tags": ", ".join(job.get("tags") or ()),
        "job_type": job["job_type"],
        **form_values(job["job_type"], job["program"]),
        "cron": schedule.get("cron", ""),
        "timezone": schedule.get("timezone", "UTC"),
        "parameters": json.dumps(job["parameters"], indent=2, ensure_ascii=False),
        "parameters_schema": ""
        if job.get("parameters_schema") is None
        else json.dumps(job["parameters_schema"], indent=2, ensure_ascii=False),
        "log_level": job["log_level"],
        "enabled": "on" if job["enabled"] else "",
        "timeout_seconds": "" if timeout is None else str(timeout),
        "overlap": str(policies.get("overlap", DEFAULT_POLICIES["overlap"])),
        "misfire": str(policies.get("misfire", DEFAULT_POLICIES["misfire"])),
        "max_retries": str(policies.get("max_retries", 0)),
        "retry_backoff_seconds": str(policies.get("retry_backoff_seconds", 60)),
        **{f: "" if policies.get(f) is None else str(policies[f]) for f in RETENTION_FIELDS},
    }
