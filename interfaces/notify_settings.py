"""The notifier's settings, read from the environment:

- JOBLEDGER_NOTIFY_DEFAULT: rules every job has besides its own, as JSON, e.g.
  '[{"channel": "on-call", "on": ["failed", "timed_out", "abandoned"]}]' (default none);
- JOBLEDGER_NOTIFY_WINDOW_SECONDS: a failing job alerts again at most once per this many
  seconds (default 3600);
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
    window_text = env.get("JOBLEDGER_NOTIFY_WINDOW_SECONDS") or "3600"
    try:
        window = float(window_text)
    except ValueError:
        window = -1.0
    if not window >= 0:
        raise InvalidInput("JOBLEDGER_NOTIFY_WINDOW_SECONDS", "must be seconds, not negative")
    base_url = (env.get("JOBLEDGER_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise InvalidInput("JOBLEDGER_BASE_URL", "must be an http or https URL")
    return NotifySettings(default_rules=rules, window=timedelta(seconds=window), base_url=base_url)
