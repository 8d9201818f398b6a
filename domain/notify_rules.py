"""Which run outcomes notify which channel: a job's `notify` rules and the global default.

A rule is {"channel": "<channel name>", "on": [event, ...]}. The events are the product's
words for what happened to a job; `recovered` is the first success after a failure.
"""

from __future__ import annotations

from typing import Any

from domain.errors import InvalidInput

NOTIFY_EVENTS = (
    "failed",
    "timed_out",
    "abandoned",
    "missed",
    "recovered",
    "succeeded",
    "long_running",
)
MAX_RULES = 20
MAX_LONG_RUNNING_SECONDS = 7 * 24 * 3600


def notify_rules(value: object, field: str = "notify") -> list[dict[str, Any]]:
    """A checked list of rules; refuses unknown events and keys, naming the field at fault."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(field, 'must be a list of {"channel": ..., "on": [...]} rules')
    if len(value) > MAX_RULES:
        raise InvalidInput(field, f"may hold at most {MAX_RULES} rules")
    rules: list[dict[str, Any]] = []
    for i, rule in enumerate(value):
        at = f"{field}.{i}"
        if not isinstance(rule, dict):
            raise InvalidInput(
                at, 'must be an object like {"channel": "on-call", "on": ["failed"]}'
            )
        unknown = sorted(set(rule) - {"channel", "on"})
        if unknown:
            raise InvalidInput(f"{at}.{unknown[0]}", "is not a rule field (channel, on)")
        channel = rule.get("channel")
        if not isinstance(channel, str) or not channel.strip() or len(channel) > 200:
            raise InvalidInput(f"{at}.channel", "must be a channel name of 1 to 200 characters")
        events = rule.get("on")
        if not isinstance(events, list) or not events:
            raise InvalidInput(
                f"{at}.on", f"must be a non-empty list of: {', '.join(NOTIFY_EVENTS)}"
            )
        for j, event in enumerate(events):
            if event not in NOTIFY_EVENTS:
                raise InvalidInput(
                    f"{at}.on.{j}", f"{event!r} is not one of {', '.join(NOTIFY_EVENTS)}"
                )
        # Kept in the product's order, without repeats, so equal rules compare equal.
        rules.append({"channel": channel.strip(), "on": [e for e in NOTIFY_EVENTS if e in events]})
    return rules


def long_running_seconds(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInput(
            "long_running_seconds", "must be a positive whole number of seconds or null"
        )
    if value > MAX_LONG_RUNNING_SECONDS:
        raise InvalidInput(
            "long_running_seconds", f"must be at most {MAX_LONG_RUNNING_SECONDS} (7 days)"
        )
    return value


def events_by_channel(*rule_lists: list[dict[str, Any]]) -> dict[str, set[str]]:
    """{channel name: events} over several lists of rules (a job's and the default)."""
    merged: dict[str, set[str]] = {}
    for rules in rule_lists:
        for rule in rules:
            merged.setdefault(rule["channel"], set()).update(rule["on"])
    return merged
