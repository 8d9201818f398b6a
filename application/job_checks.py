"""Checking a job's fields all together before anything is saved, so one refusal names every
field at fault: a form or a request with four bad fields hears of all four at once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from application.parameter_checks import check_parameters_schema
from application.ports import JobTypeCatalog
from domain import values
from domain.errors import FieldErrors, InvalidInput
from domain.job_policies import DEFAULT_POLICIES, validate_policies
from domain.log_level import LogLevel
from domain.schedule import CronSchedule
from domain.storable import check_json

# The run-policy fields, sent together as `policies`: the API and the pages use this one.
POLICY_FIELDS = tuple(DEFAULT_POLICIES)


def parse_schedule(schedule: object) -> CronSchedule | None:
    """A schedule is {"cron": ..., "timezone": ...} (timezone optional, default UTC) or null.
    A bad expression in a bad zone is refused naming both schedule.cron and .timezone."""
    if schedule is None:
        return None
    if not isinstance(schedule, Mapping):
        raise InvalidInput("schedule", 'must be an object like {"cron": "0 2 * * *"} or null')
    errors = FieldErrors()
    for unknown in sorted(set(schedule) - {"cron", "timezone"}):
        errors.add(f"schedule.{unknown}", "is not a schedule field")
    cron = schedule.get("cron")
    if not isinstance(cron, str):
        errors.add("schedule.cron", "must be a CRON expression string")
    timezone = schedule.get("timezone", "UTC")
    if not isinstance(timezone, str):
        errors.add("schedule.timezone", "must be an IANA time zone name")
    if isinstance(cron, str) and isinstance(timezone, str) and not errors:
        return CronSchedule.parse(cron, timezone)  # refuses naming both parts if both are bad
    # The parts that are text are still checked, so each is reported with the rest.
    if isinstance(cron, str):
        errors.check(lambda: CronSchedule.parse(cron))
    if isinstance(timezone, str):
        errors.check(lambda: CronSchedule.parse("* * * * *", timezone))
    errors.raise_any()
    return None  # not reached: errors is not empty


def check_secrets(secrets: object) -> dict[str, str]:
    """Secret name -> value, every pair checked. Errors never hold a value."""
    if secrets is None:
        return {}
    if not isinstance(secrets, Mapping):
        raise InvalidInput("secrets", "must be an object of name to value")
    errors = FieldErrors()
    checked: dict[str, str] = {}
    for name, value in secrets.items():
        good_name = errors.check(partial(values.secret_name, name))
        good_value = errors.check(partial(values.secret_value, value))
        if good_name is not None and good_value is not None:
            checked[good_name] = good_value
    errors.raise_any()
    return checked


def _enabled(value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput("enabled", "must be true or false")
    return value


def _rules(catalog: JobTypeCatalog, job_type: str | None) -> dict[str, Callable[[Any], Any]]:
    def program(value: object) -> dict[str, Any]:
        checked = values.json_object(check_json(value, "program"), "program")
        if job_type is None:  # the job type is itself refused: no schema to check against
            return checked
        return values.json_object(catalog.check_program(job_type, checked), "program")

    rules: dict[str, Callable[[Any], Any]] = {
        "name": values.job_name,
        "description": values.description,
        "job_type": values.job_type_name,
        "program": program,
        "parameters": values.parameters,
        "parameters_schema": check_parameters_schema,
        "schedule": parse_schedule,
        "log_level": lambda value: LogLevel.parse(value).name,
        "enabled": _enabled,
        "secrets": check_secrets,
        "folder": values.folder,
        "tags": values.tags,
    }
    for policy in POLICY_FIELDS:
        rules[policy] = partial(_policy, policy)
    return rules


def _policy(policy: str, value: object) -> Any:
    return validate_policies({policy: value}, partial=True)[policy]


def check_job_fields(
    catalog: JobTypeCatalog,
    job_type: object,
    fields: Mapping[str, Any],
    *,
    allowed: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Each field's checked value (a schedule as a CronSchedule or None), or one InvalidInput
    listing every field at fault. `fields` may be any of a job's fields; `allowed` limits
    which may be given (a change cannot give a job type); the program is checked against
    `job_type`'s schema. Nothing is saved here."""
    errors = FieldErrors()
    known_type = errors.check(lambda: values.job_type_name(job_type))
    if known_type is not None and known_type not in catalog.names():
        errors.check(partial(catalog.check_program, known_type, {}))  # names the known types
        known_type = None
    rules = _rules(catalog, known_type)
    checked: dict[str, Any] = {}
    for key, value in fields.items():
        rule = rules.get(key)
        if rule is None or (allowed is not None and key not in allowed):
            unknown = (
                "is not a job field" if allowed is None else "is not a field that can be changed"
            )
            errors.add(key, unknown)
            continue
        checked[key] = errors.check(partial(rule, value))
    errors.raise_any()
    return checked
