"""The next fire times of many schedules, remembered between pages.

A schedule's next fire time after `t` stays the answer for every later moment until that
fire time passes, so each (cron, zone) is computed once and reused until then: the
dashboard and the jobs list sorted by next run read their jobs' schedules from the view
and compute only those that fired since the last page, however many jobs share them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

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

    def due(
        self, schedules: Iterable[tuple[str, str, int]], now: datetime, horizon: timedelta
    ) -> list[tuple[str, str, datetime, int]]:
        """The schedules (JobsView.schedule_counts rows: cron, zone, jobs) that fire after
        `now` and no later than now + `horizon`, as (cron, zone, fire, jobs), soonest first."""
        end = now + horizon
        found = []
        for cron, zone, jobs in schedules:
            fire = self.next_fire(cron, zone, now)
            if fire is not None and fire <= end:
                found.append((cron, zone, fire, jobs))
        found.sort(key=lambda item: (item[2], item[0], item[1]))
        return found
