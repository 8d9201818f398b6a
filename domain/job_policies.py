"""A job's run policies: how long a run may take, what overlap and missed slots do, retries.

A job stores them as one dict (`Job.policies`); these are its defaults and the rules that
check each one. The retry policy's own rules live in `domain.retry`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from domain import values
from domain.errors import FieldErrors, InvalidInput
from domain.notify_rules import long_running_seconds, notify_rules
from domain.retention import keep_last_runs, retention_days
from domain.retry import (
    DEFAULT_BACKOFF_SECONDS,
    DEFAULT_MAX_RETRIES,
    check_backoff_seconds,
    check_max_retries,
)

DEFAULT_POLICIES: dict[str, Any] = {
    "timeout_seconds": None,
    "overlap": "skip",
    "misfire": "run_once",
    "max_retries": DEFAULT_MAX_RETRIES,
    "retry_backoff_seconds": DEFAULT_BACKOFF_SECONDS,
    # The parameters an operator may override when running the job now (administrators may
    # override any). Empty by default: an override can redirect where secrets are sent.
    "overridable_parameters": [],
    # Who is told about this job's runs (domain.notify_rules), and after how long a run
    # counts as long-running (None: three times the median of its recent runs).
    "notify": [],
    "long_running_seconds": None,
    # Retention (domain.retention): None takes the global default of the settings.
    "log_retention_days": None,
    "run_retention_days": None,
    "keep_last_runs": None,
}
MAX_OVERRIDABLE = 100

_POLICY_RULES: dict[str, Callable[[Any], Any]] = {
    "timeout_seconds": values.timeout_seconds,
    "overlap": lambda v: values.choice(v, "overlap", values.OVERLAP_POLICIES),
    "misfire": lambda v: values.choice(v, "misfire", values.MISFIRE_POLICIES),
    "max_retries": check_max_retries,
    "retry_backoff_seconds": check_backoff_seconds,
    "overridable_parameters": lambda v: overridable_parameters(v),
    "notify": notify_rules,
    "long_running_seconds": long_running_seconds,
    "log_retention_days": lambda v: retention_days(v, "log_retention_days", minimum=0),
    "run_retention_days": lambda v: retention_days(v, "run_retention_days", minimum=1),
    "keep_last_runs": keep_last_runs,
}


def overridable_parameters(value: object) -> list[str]:
    """A list of distinct parameter names (as a JSON object's keys may be)."""
    field = "overridable_parameters"
    if not isinstance(value, list):
        raise InvalidInput(field, "must be a list of parameter names")
    if len(value) > MAX_OVERRIDABLE:
        raise InvalidInput(field, f"may name at most {MAX_OVERRIDABLE} parameters")
    names: list[str] = []
    for i, name in enumerate(value):
        if not isinstance(name, str) or not name or len(name) > 200:
            raise InvalidInput(f"{field}.{i}", "must be a parameter name of 1 to 200 characters")
        if not name.isprintable():
            raise InvalidInput(f"{field}.{i}", "must not hold control characters")
        if name not in names:
            names.append(name)
    return sorted(names)


def validate_policies(policies: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Check run policies; with `partial`, only the keys given, else fill in the defaults."""
    errors = FieldErrors()
    for unknown in sorted(set(policies) - set(_POLICY_RULES)):
        errors.add(unknown, "is not a run policy")
    base: dict[str, Any] = {} if partial else dict(DEFAULT_POLICIES)
    base.update({key: value for key, value in policies.items() if key in _POLICY_RULES})
    checked = {
        key: errors.check(functools.partial(_POLICY_RULES[key], value))
        for key, value in base.items()
    }
    errors.raise_any()
    return checked
