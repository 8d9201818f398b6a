"""A job's run policies: how long a run may take, what overlap and missed slots do, retries.

A job stores them as one dict (`Job.policies`); these are its defaults and the rules that
check each one. The retry policy's own rules live in `domain.retry`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain import values
from domain.errors import InvalidInput
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
}

_POLICY_RULES: dict[str, Callable[[Any], Any]] = {
    "timeout_seconds": values.timeout_seconds,
    "overlap": lambda v: values.choice(v, "overlap", values.OVERLAP_POLICIES),
    "misfire": lambda v: values.choice(v, "misfire", values.MISFIRE_POLICIES),
    "max_retries": check_max_retries,
    "retry_backoff_seconds": check_backoff_seconds,
}


def validate_policies(policies: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Check run policies; with `partial`, only the keys given, else fill in the defaults."""
    unknown = set(policies) - set(_POLICY_RULES)
    if unknown:
        raise InvalidInput(sorted(unknown)[0], "is not a run policy")
    base: dict[str, Any] = {} if partial else dict(DEFAULT_POLICIES)
    base.update(policies)
    return {key: _POLICY_RULES[key](value) for key, value in base.items()}
