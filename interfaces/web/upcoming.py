"""The next fire times of many schedules, remembered between pages.

A schedule's next fire time after `t` stays the answer for every later moment until that
fire time passes, so each (cron, zone) is computed once and reused until then: a dashboard
with ten thousand scheduled jobs costs a cron computation only per distinct schedule that
fired since the last page.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from domain.errors import InvalidInput
from domain.schedule import CronSchedule

MAX_REMEMBERED = 50_000  # distinct schedules; past this the memory starts again


class NextFires:
    """(cron, zone) -> (computed after, next fire), valid while computed-after <= now < fire."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], tuple[datetime, datetime | None]] = {}
        self._lock = threading.Lock()

    def next_fire(self, cron: str, zone: str, now: datetime) -> datetime | None:
        key = (cron, zone)
        known = self._known.get(key)
        if known is not None:
            after, fire = known
            if after <= now and (fire is None or now < fire):
                return fire
        try:
            fire = CronSchedule.parse(cron, zone).next_fire_time(now)
        except (InvalidInput, ValueError):
            fire = None  # a schedule the store kept but that no longer parses never fires
        with self._lock:
            if len(self._known) >= MAX_REMEMBERED:
                self._known.clear()
            self._known[key] = (now, fire)
        return fire

    def within(
        self, jobs: Iterable[dict[str, Any]], now: datetime, horizon: timedelta
    ) -> list[dict[str, Any]]:
        """The jobs (scheduled_jobs rows) that fire after `now` and no later than now +
        `horizon`, each with its `next_run`, soonest first (then by name)."""
        end = now + horizon
        due = []
        for job in jobs:
            fire = self.next_fire(job["schedule_cron"], job["schedule_timezone"] or "UTC", now)
            if fire is not None and fire <= end:
                due.append({**job, "next_run": fire})
        due.sort(key=lambda job: (job["next_run"], job["name"]))
        return due
