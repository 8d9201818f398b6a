"""The scheduler's memory: every live job it may fire, a heap of next fire times, and the
runs still queued or running per job (for the overlap policy).

Built only from events, so any scheduler process rebuilds the same index from the log.
It must hold 100,000 jobs in well under 150 MB, so each job is a `__slots__` object keeping
only what a run request copies (parameters as compact JSON), its strings are interned,
and identical (cron, time zone) pairs share one parsed `CronSchedule`. The heap uses lazy
deletion: re-planning a job pushes a new entry and stale ones are dropped when they reach
the top, which keeps every change O(log n) with no search.
"""

from __future__ import annotations

import heapq
import json
import sys
from datetime import datetime
from itertools import count
from typing import Any
from uuid import UUID

from application.firing_commands import JobTemplate
from domain.run_status import RunStatus
from domain.schedule import CronSchedule


class IndexedJob:
    """One job as the scheduler needs it. `seq` names its valid heap entry (0: none)."""

    __slots__ = (
        "job_id",
        "version",
        "name",
        "job_type",
        "_parameters",
        "_defaults",
        "log_level",
        "timeout_seconds",
        "schedule",
        "enabled",
        "overlap",
        "misfire",
        "next_fire",
        "seq",
        "anchor",
    )

    def __init__(
        self,
        *,
        job_id: UUID,
        version: int,
        name: str,
        job_type: str,
        parameters: dict[str, Any],
        log_level: str,
        timeout_seconds: int | None,
        schedule: CronSchedule | None,
        enabled: bool,
        overlap: str,
        misfire: str,
        defaults: dict[str, Any] | None = None,
    ) -> None:
        self.job_id = job_id
        self.version = version
        self.name = name
        self.job_type = sys.intern(job_type)
        self.parameters = parameters
        self.defaults = defaults or {}
        self.log_level = sys.intern(log_level)
        self.timeout_seconds = timeout_seconds
        self.schedule = schedule
        self.enabled = enabled
        self.overlap = sys.intern(overlap)
        self.misfire = sys.intern(misfire)
        self.next_fire: datetime | None = None
        self.seq = 0
        # The instant from which its slots count (the last schedule/enable change), until
        # the start-up replay has read the whole log and plans every job once.
        self.anchor: datetime | None = None

    @property
    def parameters(self) -> dict[str, Any]:
        return json.loads(self._parameters) if self._parameters else {}

    @parameters.setter
    def parameters(self, value: dict[str, Any]) -> None:
        # Kept as compact JSON: a decoded dict of three parameters costs about 500 bytes
        # in memory, its JSON about 100; it is decoded only when the job fires.
        self._parameters = json.dumps(value, separators=(",", ":")).encode() if value else None

    @property
    def defaults(self) -> dict[str, Any]:
        """The defaults of the job's parameters schema: a scheduled run gets them, then the
        job's parameters (as every run does, `Job.base_parameters`)."""
        return json.loads(self._defaults) if self._defaults else {}

    @defaults.setter
    def defaults(self, value: dict[str, Any]) -> None:
        self._defaults = json.dumps(value, separators=(",", ":")).encode() if value else None

    @property
    def schedulable(self) -> bool:
        return self.enabled and self.schedule is not None

    def template(self) -> JobTemplate:
        return JobTemplate(
            job_id=self.job_id,
            job_version=self.version,
            job_name=self.name,
            job_type=self.job_type,
            parameters={**self.defaults, **self.parameters} if self._defaults else self.parameters,
            log_level=self.log_level,
            timeout_seconds=self.timeout_seconds,
        )


class ActiveRun:
    """A run of a job that is still queued or running."""

    __slots__ = ("run_id", "job_id", "status", "scheduled")

    def __init__(self, run_id: UUID, job_id: UUID, status: RunStatus, scheduled: bool) -> None:
        self.run_id = run_id
        self.job_id = job_id
        self.status = status
        self.scheduled = scheduled


class JobIndex:
    """Jobs by id, their next fire times in a heap, and active runs by job."""

    def __init__(self) -> None:
        self.jobs: dict[UUID, IndexedJob] = {}
        self._heap: list[tuple[datetime, int, IndexedJob]] = []
        self._seq = count(1)
        self._schedules: dict[tuple[str, str], CronSchedule] = {}
        self._runs: dict[UUID, ActiveRun] = {}
        self._runs_by_job: dict[UUID, dict[UUID, ActiveRun]] = {}

    def __len__(self) -> int:
        return len(self.jobs)

    # Schedules and the heap.

    def schedule_for(self, cron: str, timezone: str) -> CronSchedule:
        """One parsed schedule per distinct (cron, zone), shared by every job that uses it."""
        key = (cron, timezone)
        schedule = self._schedules.get(key)
        if schedule is None:
            schedule = self._schedules[key] = CronSchedule(cron, timezone)
        return schedule

    def plan(self, job: IndexedJob, after: datetime) -> None:
        """Put the job's first slot strictly after `after` on the heap (or take it off)."""
        job.seq = 0
        job.next_fire = None
        if not job.schedulable:
            return
        assert job.schedule is not None
        try:
            job.next_fire = job.schedule.next_fire_time(after)
        except ValueError:  # never fires again (a date past the year 9999)
            return
        self.push(job)

    def push(self, job: IndexedJob) -> None:
        """(Re)insert the job at its `next_fire`; older entries for it become stale."""
        assert job.next_fire is not None
        job.seq = next(self._seq)
        heapq.heappush(self._heap, (job.next_fire, job.seq, job))

    def unplan(self, job: IndexedJob) -> None:
        job.seq = 0
        job.next_fire = None

    def next_due(self) -> datetime | None:
        """The earliest next fire time of any job, dropping stale entries on the way."""
        heap = self._heap
        while heap:
            when, seq, job = heap[0]
            if seq == job.seq and self.jobs.get(job.job_id) is job:
                return when
            heapq.heappop(heap)
        return None

    def due_at(self, instant: datetime, limit: int) -> list[IndexedJob]:
        """Up to `limit` jobs whose next fire time is `instant`, the earliest on the heap,
        without taking them off. By the heap property the entries at the minimum form a
        subtree at the root, so this visits only them (and their direct children)."""
        heap, found = self._heap, list[IndexedJob]()
        todo = [0] if heap and heap[0][0] == instant else []
        while todo and len(found) < limit:
            i = todo.pop()
            _when, seq, job = heap[i]
            if seq == job.seq and self.jobs.get(job.job_id) is job:
                found.append(job)
            todo.extend(
                c for c in (2 * i + 1, 2 * i + 2) if c < len(heap) and heap[c][0] == instant
            )
        return found

    def pop_due(self, now: datetime) -> list[IndexedJob]:
        """Take every job whose next fire time is at or before `now` off the heap."""
        due: list[IndexedJob] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            _when, seq, job = heapq.heappop(heap)
            if seq == job.seq and self.jobs.get(job.job_id) is job:
                job.seq = 0
                due.append(job)
        return due

    # Active runs.

    def active_runs(self, job_id: UUID) -> list[ActiveRun]:
        runs = self._runs_by_job.get(job_id)
        return list(runs.values()) if runs else []

    def oldest_active(self, job_id: UUID) -> ActiveRun | None:
        """The job's earliest requested run still queued or running, if any."""
        runs = self._runs_by_job.get(job_id)
        return next(iter(runs.values())) if runs else None

    def run_requested(self, run_id: UUID, job_id: UUID, scheduled: bool) -> None:
        run = ActiveRun(run_id, job_id, RunStatus.QUEUED, scheduled)
        self._runs[run_id] = run
        self._runs_by_job.setdefault(job_id, {})[run_id] = run

    def run_started(self, run_id: UUID) -> None:
        run = self._runs.get(run_id)
        if run is not None:
            run.status = RunStatus.RUNNING

    def run_finished(self, run_id: UUID) -> None:
        run = self._runs.pop(run_id, None)
        if run is None:
            return
        runs = self._runs_by_job.get(run.job_id)
        if runs is not None:
            runs.pop(run_id, None)
            if not runs:
                del self._runs_by_job[run.job_id]

    def run_status(self, run_id: UUID) -> RunStatus | None:
        run = self._runs.get(run_id)
        return run.status if run else None

    @property
    def active_count(self) -> int:
        return len(self._runs)
