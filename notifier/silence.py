"""Scheduled jobs that did not run: the slots a `missed` rule is about besides the skipped
ones (which are recorded as skipped runs and notified like any run outcome).

A job is silent when its schedule's next fire time after its last run (or its last change,
whichever is later: a new schedule must not be judged by an old run) is more than the grace
in the past and no run was requested since: the scheduler is down, or the job is stuck
behind something. Read from the jobs view, a page at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from application.notification_commands import NotifySettings
from domain.errors import InvalidInput
from domain.notify_rules import events_by_channel
from domain.schedule import CronSchedule
from notifier.ports import JobsSnapshot

PAGE = 500


@dataclass(frozen=True)
class SilentSlot:
    job_id: UUID
    expected_at: datetime
    last_run_at: datetime | None


def _asks_for_missed(row: dict[str, Any], settings: NotifySettings) -> bool:
    own = (row.get("policies") or {}).get("notify") or []
    rules = events_by_channel(own, settings.default_rules)
    return any("missed" in events for events in rules.values())


def _expected(row: dict[str, Any]) -> datetime | None:
    moments = [row.get(key) for key in ("last_run_at", "updated_at", "created_at")]
    known = [m for m in moments if isinstance(m, datetime)]
    if not known or not row.get("schedule"):
        return None
    try:
        return CronSchedule.from_dict(row["schedule"]).next_fire_time(max(known))
    except (InvalidInput, ValueError, KeyError):
        return None


def silent_slots(
    jobs: JobsSnapshot, now: datetime, settings: NotifySettings
) -> Iterator[SilentSlot]:
    cursor: str | None = None
    while True:
        page, cursor = jobs.list_jobs(limit=PAGE, cursor=cursor)
        for row in page:
            if not row.get("enabled") or not _asks_for_missed(row, settings):
                continue
            expected = _expected(row)
            if expected is not None and expected + settings.missed_grace < now:
                last = row.get("last_run_at")
                yield SilentSlot(
                    UUID(str(row["id"])), expected, last if isinstance(last, datetime) else None
                )
        if cursor is None:
            return
