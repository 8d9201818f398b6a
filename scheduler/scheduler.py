"""The scheduler: turns job schedules into run requests, each slot once.

It follows the event store's notification log (job events and run lifecycle events only,
by topic) into a `JobIndex`, and at each fire time records every slot that fell due in one
transaction (`JobLedger.request_scheduled`). Run ids are name-based on (job, fire time), so
several schedulers may run side by side: the store lets one write per slot succeed, and the
others count it as already fired. After each batch commits, a durable watermark says up
to which instant every slot has been handled, so a restarted scheduler resumes there.

Start-up state comes from the notification log, filtered by topic, rather than from the
jobs view's snapshot: the log is the record itself (the view may lag, be rebuilding or live
in another process), it gives the exact job version a run must name (the view's row would
need columns it does not keep), and it needs no coupling to a view's tables. The price is
one pass over the job and run-lifecycle events at start (log events are never read); a
page at a time keeps memory flat.

Time comes only from the Clock port; `tick()` does one follow-and-fire step, so tests drive
years of schedule with a fake clock, and `run()` sleeps between ticks until the next fire
time or a wake-up (a save in this process, or PostgreSQL's NOTIFY from another).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from application.app import JobLedger
from application.event_reader import pages_after
from application.firing_commands import FiringResult, SlotRequest
from application.outage import Outage
from application.ports import Clock, ThreadWakeup, Wakeup
from domain.errors import Conflict, NotFound
from domain.job import Job
from domain.parameters_schema import defaults
from domain.run import Run
from domain.run_status import RunStatus
from scheduler.checkpoint import Checkpoint, MemoryCheckpoint
from scheduler.firing import FiringRules, SlotMemo, decide
from scheduler.job_events import event_topics, indexed_job
from scheduler.job_index import IndexedJob, JobIndex

log = logging.getLogger("jobledger.scheduler")

# A change seen while running counts from its own timestamp, but never from earlier than
# this before the last tick: an event stamped just before a tick may commit just after the
# tick read the log, and a slot in between must still fire. Re-firing a slot inside this
# window is harmless: its name-based id collides and it counts as already fired.
LIVE_SLACK = timedelta(seconds=2)
GC_PAUSE_BATCH = 1_000  # jobs due at once from which the cyclic GC waits for the batch


@dataclass
class SchedulerStats:
    requested: int = 0
    skipped: int = 0
    already_fired: int = 0
    batches: int = 0
    queued_runs_skipped: int = 0  # queued runs of jobs disabled or deleted
    events_read: int = 0


@dataclass
class Batch:
    """One committed batch, for observers (benchmarks, logs): when it was due and stored."""

    due: list[datetime]
    result: FiringResult
    tick_at: datetime
    decided_at: datetime  # records built (policies applied), before the write
    committed_at: datetime


class Scheduler:
    """One scheduler process's state and loop. Not thread-safe: one thread runs it."""

    def __init__(
        self,
        app: JobLedger,
        clock: Clock,
        checkpoint: Checkpoint | None = None,
        *,
        rules: FiringRules | None = None,
        wakeup: Wakeup | None = None,
        page_size: int = 1_000,
        max_sleep: float = 1.0,
        min_interval: float = 0.05,
        recent_slots: int = 20_000,
        prepare_limit: int = 10_000,
        on_batch: Callable[[Batch], None] | None = None,
    ) -> None:
        self.app = app
        self.clock = clock
        self.checkpoint = checkpoint or MemoryCheckpoint()
        self.rules = rules or FiringRules()
        self.wakeup = wakeup or ThreadWakeup()
        self.page_size = page_size
        self.max_sleep = max_sleep  # the poll, when no wake-up comes (SQLite across processes)
        self.min_interval = min_interval
        self.on_batch = on_batch
        self.index = JobIndex()
        self.stats = SchedulerStats()
        self.position = 0  # the last notification read
        self.handled_until: datetime | None = None
        self.started = False
        self._topics = event_topics()
        self._replaying = False
        self._pending_skips: dict[UUID, str] = {}
        self.recent_slots = recent_slots
        self.prepare_limit = prepare_limit
        self._prepared: dict[UUID, SlotRequest] = {}
        self._prepared_for: datetime | None = None
        self._recently_fired: OrderedDict[UUID, None] = OrderedDict()
        # Whether the store answers: logged once per outage, read by /healthz.
        self.outage = Outage("scheduler", log)

    # Start-up.

    def start(self) -> None:
        """Read the job and run events so far and plan every job from the watermark."""
        now = self.clock.now()
        watermark = self.checkpoint.load()
        self._replaying = True
        try:
            self.follow()
        finally:
            self._replaying = False
        floor = watermark if watermark is not None else now
        if watermark is None:
            # The first start: nothing ran before, so nothing was missed. Record that, so a
            # restart after a crash before the first batch still finds where to resume.
            self.checkpoint.save(now)
        for job in self.index.jobs.values():
            anchor = job.anchor or floor
            job.anchor = None
            # Slots up to the watermark were handled by an earlier life (or another
            # scheduler); with no watermark at all nothing ran before, so nothing was missed.
            self.index.plan(job, max(floor, min(anchor, now)))
        self.handled_until = floor
        self.started = True
        log.info(
            "scheduler started: %d jobs, %d active runs, watermark %s",
            len(self.index),
            self.index.active_count,
            watermark.isoformat() if watermark else "none",
        )

    # Following the log.

    def follow(self) -> int:
        """Apply every new job and run event. Returns how many were read."""
        read = 0
        for events, last in pages_after(self.app, self.position, self._topics, self.page_size):
            for event in events:
                self._apply(event)
            self.position = last
            read += len(events)
        self.stats.events_read += read
        if self._pending_skips:
            self._skip_queued_runs()
        return read

    def _apply(self, event: Any) -> None:
        if isinstance(event, Job.Event):
            self._apply_job_event(event)
        elif isinstance(event, Run.Requested):
            scheduled = event.trigger == "schedule"
            self.index.run_requested(event.originator_id, event.job_id, scheduled)
            if scheduled:
                self._remember_fired(event.originator_id)
        elif isinstance(event, Run.Started):
            self.index.run_started(event.originator_id)
        elif isinstance(event, Run.Finished):
            self.index.run_finished(event.originator_id)

    def _apply_job_event(self, event: Job.Event) -> None:
        index = self.index
        if isinstance(event, Job.Registered):
            job = indexed_job(event, index)
            index.jobs[job.job_id] = job
            self._replan(job, event.timestamp)
            return
        found = index.jobs.get(event.originator_id)
        if found is None:
            return
        job = found
        job.version = event.originator_version
        if isinstance(event, Job.Renamed):
            job.name = event.name
        elif isinstance(event, Job.ParametersChanged):
            job.parameters = event.parameters
        elif isinstance(event, Job.ParametersSchemaChanged):
            job.defaults = defaults(event.parameters_schema)
        elif isinstance(event, Job.LogLevelChanged):
            job.log_level = event.log_level
        elif isinstance(event, Job.PoliciesChanged):
            policies = event.policies
            if "timeout_seconds" in policies:
                job.timeout_seconds = policies["timeout_seconds"]
            if "overlap" in policies:
                job.overlap = policies["overlap"]
            if "misfire" in policies:
                job.misfire = policies["misfire"]
        elif isinstance(event, Job.Scheduled):
            job.schedule = index.schedule_for(event.cron, event.timezone)
            self._replan(job, event.timestamp)
        elif isinstance(event, Job.Unscheduled):
            job.schedule = None
            index.unplan(job)
        elif isinstance(event, Job.Enabled):
            job.enabled = True
            self._replan(job, event.timestamp)
        elif isinstance(event, Job.Disabled):
            job.enabled = False
            index.unplan(job)
            self._queue_skips(job.job_id, "job disabled")
        elif isinstance(event, Job.Deleted):
            index.unplan(job)
            del index.jobs[job.job_id]
            self._queue_skips(job.job_id, "job deleted")

    def _remember_fired(self, run_id: UUID) -> None:
        # The scheduled runs seen lately, by whichever scheduler: a slot among them is not
        # fired again. Bounded, oldest out first; the store's id check stays the guarantee.
        recent = self._recently_fired
        recent[run_id] = None
        if len(recent) > self.recent_slots:
            recent.popitem(last=False)

    def _unfired(self, slots: Sequence[SlotRequest]) -> list[SlotRequest]:
        """After a batch conflict: catch up with the log, keep the slots nobody recorded."""
        self.follow()
        return [slot for slot in slots if slot.run_id not in self._recently_fired]

    def _replan(self, job: IndexedJob, changed_at: datetime) -> None:
        """A job's schedule or enablement changed at `changed_at`: its slots count from then."""
        if self._replaying:
            job.anchor = changed_at  # planned once, when the replay is done
            return
        now = self.clock.now()
        anchor = min(changed_at, now)
        if self.handled_until is not None:
            anchor = max(anchor, self.handled_until - LIVE_SLACK)
        self.index.plan(job, anchor)

    def _queue_skips(self, job_id: UUID, reason: str) -> None:
        for run in self.index.active_runs(job_id):
            if run.scheduled and run.status == RunStatus.QUEUED:
                self._pending_skips[run.run_id] = reason

    def _skip_queued_runs(self) -> None:
        """Skip the scheduled runs still queued when their job was disabled or deleted."""
        pending, self._pending_skips = self._pending_skips, {}
        for run_id, reason in pending.items():
            if self.index.run_status(run_id) != RunStatus.QUEUED:
                continue  # started (or ended) since: nothing to skip
            try:
                self.app.skip_run(run_id, reason=reason)
            except (Conflict, NotFound):
                continue  # a worker claimed it, or another scheduler skipped it first
            self.stats.queued_runs_skipped += 1

    # Firing.

    def fire(self, now: datetime) -> FiringResult | None:
        """Record every slot due at or before `now`, in one transaction."""
        due = self.index.pop_due(now)
        if not due:
            if self.handled_until is None or now > self.handled_until:
                self.handled_until = now
            return None
        # A large batch allocates a dozen objects per run, none of them garbage until it is
        # stored; the cyclic collector would walk the whole index again and again meanwhile
        # (about 15% of 10,000 requests). Pause it for the batch, if it was on.
        pause_gc = len(due) >= GC_PAUSE_BATCH and gc.isenabled()
        if pause_gc:
            gc.disable()
        try:
            return self._fire(now, due)
        finally:
            if pause_gc:
                gc.enable()

    def _fire(self, now: datetime, due: list[IndexedJob]) -> FiringResult:
        slots: list[SlotRequest] = []
        fire_times: list[datetime] = []
        planned = [(job, job.next_fire) for job in due]
        memo: SlotMemo = {}
        prepared, self._prepared, self._prepared_for = self._prepared, {}, None
        for job in due:
            active = self.index.oldest_active(job.job_id)
            decision = decide(job, now, active, self.rules, memo, prepared.get(job.job_id))
            slots.extend(decision.slots)
            fire_times.extend(slot.fire_time for slot in decision.slots)
            job.next_fire = decision.next_fire
        decided_at = self.clock.now()
        fresh = [slot for slot in slots if slot.run_id not in self._recently_fired]
        seen_fired = len(slots) - len(fresh)
        try:
            result = self.app.request_scheduled(fresh, unfired=self._unfired)
        except Exception:
            # Nothing was recorded: put the jobs back as they were, to try again.
            for job, next_fire in planned:
                job.next_fire = next_fire
                self.index.push(job)
            raise
        for job in due:
            if job.next_fire is not None:
                self.index.push(job)
        committed_at = self.clock.now()
        self.checkpoint.save(now)
        self.handled_until = now
        self.stats.batches += 1
        self.stats.requested += result.requested
        self.stats.skipped += result.skipped
        self.stats.already_fired += len(result.already_fired) + seen_fired
        if self.on_batch is not None:
            self.on_batch(Batch(fire_times, result, now, decided_at, committed_at))
        return result

    def prepare(self, instant: datetime) -> int:
        """While waiting for `instant`: build the requests of the jobs due then (their run
        ids and what they copy from the job), so firing has less to do. Policies are still
        applied at the fire time, and a job changed meanwhile is built again."""
        requests: dict[UUID, SlotRequest] = {}
        for job in self.index.due_at(instant, self.prepare_limit):
            requests[job.job_id] = SlotRequest(job.template(), instant)
        self._prepared = requests
        self._prepared_for = instant
        return len(requests)

    def tick(self) -> datetime | None:
        """Follow the log, fire what is due now; return the next fire time (None: none)."""
        if not self.started:
            self.start()
        self.follow()
        self.fire(self.clock.now())
        return self.index.next_due()

    def run(self, stop: threading.Event) -> None:
        """Tick until `stop` is set, sleeping until the next fire time or a wake-up."""
        while not stop.is_set():
            ticked = time.monotonic()
            try:
                next_due = self.tick()
            except Exception as error:  # the store away: said once, retried with backoff
                stop.wait(self.outage.failed(error))
                continue
            self.outage.succeeded()
            if stop.is_set():
                break
            until_due = self._seconds_until(next_due)
            if next_due is not None and next_due != self._prepared_for and until_due > 0.05:
                self.prepare(next_due)
                until_due = self._seconds_until(next_due)
            if until_due > 0:
                self.wakeup.wait(until_due)
            # Every save wakes us (workers' log batches too, hundreds a second under load):
            # follow the log at most every `min_interval`, unless a fire time comes first.
            pause = min(
                self.min_interval - (time.monotonic() - ticked), self._seconds_until(next_due)
            )
            if pause > 0:
                stop.wait(pause)

    def _seconds_until(self, next_due: datetime | None) -> float:
        if next_due is None:
            return self.max_sleep
        return min(self.max_sleep, (next_due - self.clock.now()).total_seconds())
