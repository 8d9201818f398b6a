"""The notifier's settings, read from the environment:

- JOBLEDGER_NOTIFY_DEFAULT: rules every job has besides its own, as JSON, e.g.
  '[{"channel": "on-call", "on": ["failed", "timed_out", "abandoned"]}]' (default none);
- JOBLEDGER_NOTIFY_WINDOW_SECONDS: a failing job alerts again at most once per this many
  seconds (default 3600);
- JOBLEDGER_NOTIFY_MISSED_GRACE_SECONDS: a scheduled job that has not run this long after
  its next fire time is `missed` (default 300);
- JOBLEDGER_BASE_URL: where the web pages are, for the links in notifications
  (default http://127.0.0.1:8080).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import timedelta

from application.notification_commands import NotifySettings
from domain.errors import InvalidInput
from domain.notify_rules import notify_rules

DEFAULT_BASE_URL = "http://127.0.0.1:8080"


def notify_settings(env: Mapping[str, str] | None = None) -> NotifySettings:
    env = os.environ if env is None else env
    raw = env.get("JOBLEDGER_NOTIFY_DEFAULT") or "[]"
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise InvalidInput("JOBLEDGER_NOTIFY_DEFAULT", "is not JSON") from None
    rules = notify_rules(parsed, field="JOBLEDGER_NOTIFY_DEFAULT")
    window = _seconds(env, "JOBLEDGER_NOTIFY_WINDOW_SECONDS", "3600")
    grace = _seconds(env, "JOBLEDGER_NOTIFY_MISSED_GRACE_SECONDS", "300")
    base_url = (env.get("JOBLEDGER_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise InvalidInput("JOBLEDGER_BASE_URL", "must be an http or https URL")
    return NotifySettings(
        default_rules=rules,
        window=timedelta(seconds=window),
        base_url=base_url,
        missed_grace=timedelta(seconds=grace),
    )


def _seconds(env: Mapping[str, str], name: str, default: str) -> float:
    try:
        value = float(env.get(name) or default)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses nan
        raise InvalidInput(name, "must be a number of seconds, not negative")
    return value
