"""What the dashboard shows, read from the views in one place: the running runs, the last
day's failures and missed slots, the next hour's fires, the job types no worker can run and
the runs per hour. The page and its live stream render the same `Dashboard`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from interfaces.bootstrap import System
from interfaces.web.svg_bars import Bar, hourly_bars
from projections.next_fires import NextFires

DAY = timedelta(hours=24)
WEEK = timedelta(days=7)
HOUR = timedelta(hours=1)
LISTED = 20  # failures, missed slots: the newest this many (the runs page has the rest)
RUNNING_LISTED = 100
UPCOMING_LISTED = 50
TAIL_LINES = 6
TAIL_CHARS = 800
FAILED = ("failed", "timed_out")
MISSED = ("skipped",)

NEXT_FIRES = NextFires()  # one memory per process: the schedules are the same for all pages


def error_tail(error: str | None) -> str:
    """The end of a run's error text, where the cause usually is: its last lines, clipped."""
    if not error:
        return ""
    tail = "\n".join(error.rstrip().splitlines()[-TAIL_LINES:])
    return tail if len(tail) <= TAIL_CHARS else "…" + tail[-TAIL_CHARS:]


@dataclass
class Dashboard:
    now: datetime
    running: list[dict[str, Any]]
    failures: list[dict[str, Any]]
    missed: list[dict[str, Any]]
    upcoming: list[dict[str, Any]]
    upcoming_total: int
    unrunnable: list[dict[str, Any]]  # [{job_type, jobs, reason}]
    day: list[Bar]
    week: list[Bar]

    def at(self, moment: datetime) -> Dashboard:
        """The same board with the running runs' elapsed times as of `moment` (a board
        shared by several streams is rendered for each at its own time)."""
        running = [{**run, "elapsed_seconds": _elapsed(run, moment)} for run in self.running]
        return replace(self, running=running)

    def totals(self, bars: list[Bar]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for bar in bars:
            for status, n in bar.counts.items():
                counts[status] = counts.get(status, 0) + n
        return counts


def gather(system: System, now: datetime) -> Dashboard:
    runs, jobs = system.runs, system.jobs
    running, _ = runs.list_runs(status="running", limit=RUNNING_LISTED)
    running.sort(key=lambda run: (run["started_at"] or now, str(run["id"])))
    for run in running:
        run["elapsed_seconds"] = _elapsed(run, now)
    failures = runs.finished_since(FAILED, now - DAY, LISTED)
    for run in failures:
        run["error_tail"] = error_tail(run.get("error"))
    missed = runs.finished_since(MISSED, now - DAY, LISTED)
    due = NEXT_FIRES.due(jobs.schedule_counts(), now, HOUR)
    upcoming = jobs.jobs_due([(cron, zone, fire) for cron, zone, fire, _n in due], UPCOMING_LISTED)
    types = jobs.job_type_counts()
    unrunnable = [
        {"job_type": name, "jobs": types[name], "reason": found.reason}
        for name, found in sorted(system.job_type_availability(types).items())
        if not found.available
    ]
    counted = runs.runs_per_hour(now - WEEK)
    return Dashboard(
        now=now,
        running=running,
        failures=failures,
        missed=missed,
        upcoming=upcoming,
        upcoming_total=sum(n for *_schedule, n in due),
        unrunnable=unrunnable,
        day=hourly_bars(counted, now, 24),
        week=hourly_bars(counted, now, 24 * 7),
    )


def _elapsed(run: dict[str, Any], now: datetime) -> int:
    started = run["started_at"] or now
    return max(0, int((now - started).total_seconds()))


def elapsed_words(seconds: int) -> str:
    """ "42 s", "3 min 05 s", "2 h 07 min 05 s": what static/dashboard.js writes too."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {secs:02d} s"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"
