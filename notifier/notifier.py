"""The notifier loop: follow run outcomes through the event log, decide what each notifies
(once, whichever notifier decides), and deliver the requested notifications with retries.

It keeps two positions in the log. Run outcomes are read from a saved position (`Position`),
moved after each page's decisions are saved; a crash re-reads a page, and the decisions
already saved are not made again. Deliveries are learnt from their events too, and the
unsettled ones are saved with the position they were learnt up to (`PendingDeliveries`):
a restart starts from those (each checked against its aggregate) and the delivery events
after that position, so a delivery requested before a restart, or by another process (a
test message from the API), is still sent, and start-up does not grow with the history
of settled deliveries. Each attempt is claimed first (an event at the
delivery's next version, with a lease), so two notifiers never send the same delivery at
once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from application.app import JobLedger
from application.notification_commands import NotifySettings
from application.outage import Outage
from application.ports import Clock, Wakeup
from domain.delivery import Delivery
from domain.errors import Conflict, JobLedgerError, NotFound
from domain.run import Run
from domain.run_status import RunStatus
from notifier.ports import (
    JobsSnapshot,
    MemoryPendingDeliveries,
    Outgoing,
    PendingDeliveries,
    Position,
    RunningRuns,
    Sender,
    SendResult,
)
from notifier.silence import silent_slots
from notifier.stats import DeliveryStats

log = logging.getLogger("jobledger.notifier")

OUTCOMES: dict[str, str] = {
    get_topic(Run.Failed): "failed",
    get_topic(Run.TimedOut): "timed_out",
    get_topic(Run.Abandoned): "abandoned",
    get_topic(Run.Succeeded): "succeeded",
    get_topic(Run.Skipped): "missed",
}
STARTED = get_topic(Run.Started)
RUN_TOPICS = sorted([*OUTCOMES, STARTED, get_topic(Run.Cancelled)])
DELIVERY_TOPICS = sorted(
    get_topic(cls)
    for cls in (
        Delivery.Requested,
        Delivery.Claimed,
        Delivery.Attempted,
        Delivery.Delivered,
        Delivery.GaveUp,
    )
)
IDLE_SECONDS = 5.0
SILENCE_CHECK_SECONDS = 60.0


class Notifier:
    """Decides and delivers notifications; `run(stop)` in a thread, or `pass_once()`."""

    def __init__(
        self,
        app: JobLedger,
        clock: Clock,
        position: Position,
        senders: dict[str, Sender],
        settings: NotifySettings,
        wakeup: Wakeup,
        *,
        owner: str | None = None,
        page_size: int = 200,
        lease: timedelta = timedelta(seconds=90),
        parallel: int = 4,
        jobs: JobsSnapshot | None = None,
        running: RunningRuns | None = None,
        deliveries: PendingDeliveries | None = None,
    ) -> None:
        self.app = app
        self.clock = clock
        self.position = position
        self.senders = senders
        self.settings = settings
        self.wakeup = wakeup
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.page_size = page_size
        self.lease = lease
        self.jobs = jobs
        self.running = running
        self._silence_checked: datetime | None = None
        self.outage = Outage("notifier", log)
        self.stats = DeliveryStats()
        self._pool = ThreadPoolExecutor(parallel, thread_name_prefix="notifier-send")
        self._lock = threading.Lock()
        self._due: dict[UUID, datetime] = {}  # unsettled deliveries: when each is due
        self._sending: set[UUID] = set()
        self._long: dict[UUID, datetime] = {}  # running runs: when they become long-running
        self._decided_to: int | None = None
        self.deliveries = deliveries if deliveries is not None else MemoryPendingDeliveries()
        self._tracked_to: int | None = None
        self._saved_to = 0
        self._unsaved: dict[UUID, datetime | None] = {}  # learnt, not yet saved

    # The loop.

    def run(self, stop: threading.Event) -> None:
        """Pass after pass until `stop`, riding out store outages."""
        while not stop.is_set():
            try:
                wait = self.pass_once()
                self.outage.succeeded()
            except Exception as error:  # noqa: BLE001 - any store failure: retry, never exit
                wait = self.outage.failed(error)
            if not stop.is_set():
                self.wakeup.wait(wait)
        self._pool.shutdown(wait=True)

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def pass_once(self) -> float:
        """Decide new outcomes, learn new deliveries, start the due attempts; the seconds
        until something is due (at most IDLE_SECONDS)."""
        self.decide()
        self.check_long_running()
        self.check_silence()
        self.track(save=False)
        wait = self.send_due()
        self.save_tracked()  # after the sends are on their way: off their path
        return wait

    # Deciding.

    def decide(self) -> int:
        """Decide the run outcomes stored after our position; how many were read."""
        if self._decided_to is None:
            position = self.position.load()
            if self.running is not None:
                # Runs that started before our position: still watched for long_running.
                for row in self.running.running_runs():
                    self._watch_long_running(UUID(str(row["id"])))
            self._decided_to = position
        count = 0
        while True:
            page = self.app.recorder.select_notifications(
                start=self._decided_to,
                limit=self.page_size,
                topics=RUN_TOPICS,
                inclusive_of_start=False,
            )
            for notification in page:
                run_id = UUID(str(notification.originator_id))
                try:
                    self._decide_one(notification.topic, run_id)
                except Conflict:
                    raise  # contention: the page is read again at the next pass
                except JobLedgerError as error:
                    # A rule that cannot apply (its job's data unreadable...) must not stop
                    # every later notification: this outcome is skipped, and said so.
                    log.error("notifier: run %s not notified: %s", run_id, error)
            if page:
                self._decided_to = page[-1].id
                self.position.save(self._decided_to)
                count += len(page)
            if len(page) < self.page_size:
                return count

    def _decide_one(self, topic: str, run_id: UUID) -> None:
        if topic == STARTED:
            self._watch_long_running(run_id)
            return
        self._long.pop(run_id, None)
        outcome = OUTCOMES.get(topic)
        if outcome is not None:
            self.app.decide_notifications(
                run_id, outcome, now=self.clock.now(), settings=self.settings
            )

    def _watch_long_running(self, run_id: UUID) -> None:
        run = self.app.aggregate_or_none(run_id)
        if not isinstance(run, Run) or run.is_finished or run.started_at is None:
            return
        threshold = self.app.long_running_threshold(run.job_id, self.settings)
        if threshold is not None:
            self._long[run_id] = run.started_at + timedelta(seconds=threshold)

    def check_long_running(self) -> None:
        now = self.clock.now()
        for run_id, due in sorted(self._long.items(), key=lambda item: item[1]):
            if due > now:
                break
            del self._long[run_id]
            run = self.app.aggregate_or_none(run_id)
            if isinstance(run, Run) and run.status == RunStatus.RUNNING:
                self.app.decide_notifications(
                    run_id, "long_running", now=now, settings=self.settings
                )

    def check_silence(self) -> int:
        """At most once a minute: notify `missed` for scheduled jobs that did not run."""
        if self.jobs is None:
            return 0
        now = self.clock.now()
        last = self._silence_checked
        if last is not None and (now - last).total_seconds() < SILENCE_CHECK_SECONDS:
            return 0
        self._silence_checked = now
        decided = 0
        for slot in silent_slots(self.jobs, now, self.settings):
            record = self.app.decide_silence(
                slot.job_id,
                slot.expected_at,
                last_run_at=slot.last_run_at,
                now=now,
                settings=self.settings,
            )
            decided += record is not None
        return decided

    # Delivering.

    def track(self, *, save: bool = True) -> None:
        """Learn of deliveries requested, attempted and settled since last time; at the
        first pass, start from the saved pending deliveries and their position. What was
        learnt is saved now, or with `save=False` at the next `save_tracked()`."""
        if self._tracked_to is None:
            position, saved = self.deliveries.load()
            changes = self._learn(saved)
            if any(due is None for due in changes.values()):
                self.deliveries.save(position, changes)  # rows settled meanwhile: forgotten
            self._tracked_to = self._saved_to = position
        while True:
            page = self.app.recorder.select_notifications(
                start=self._tracked_to,
                limit=500,
                topics=DELIVERY_TOPICS,
                inclusive_of_start=False,
            )
            if page:
                self._unsaved.update(self._learn({UUID(str(n.originator_id)) for n in page}))
                self._tracked_to = page[-1].id
                if len(self._unsaved) >= 500:
                    self.save_tracked()  # a long catch-up saves as it goes
            if len(page) < 500:
                if save:
                    self.save_tracked()
                return

    def save_tracked(self) -> None:
        """Save the deliveries learnt since the last save, with the position learnt up to."""
        if self._tracked_to is not None and (self._unsaved or self._tracked_to > self._saved_to):
            self.deliveries.save(self._tracked_to, self._unsaved)
            self._unsaved = {}
            self._saved_to = self._tracked_to

    def _learn(self, ids: Iterable[UUID]) -> dict[UUID, datetime | None]:
        """Note each delivery's state; when each is due (None: settled or gone)."""
        changes: dict[UUID, datetime | None] = {}
        for ident in ids:
            delivery = self.app.aggregate_or_none(ident)
            if isinstance(delivery, Delivery):
                self._note(delivery)
                changes[ident] = delivery.due_at()
            else:
                changes[ident] = None
        return changes

    def _note(self, delivery: Delivery) -> None:
        due = delivery.due_at()
        with self._lock:
            if due is None:
                self._due.pop(delivery.id, None)
            else:
                self._due[delivery.id] = due

    def pending(self) -> dict[UUID, datetime]:
        with self._lock:
            return dict(self._due)

    def send_due(self) -> float:
        now = self.clock.now()
        wait = IDLE_SECONDS
        with self._lock:
            due = sorted(self._due.items(), key=lambda item: item[1])
        for ident, at in due:
            if at > now:
                wait = min(wait, (at - now).total_seconds())
                break
            with self._lock:
                if ident in self._sending:
                    continue
                self._sending.add(ident)
            self._pool.submit(self._attempt_guarded, ident)
        for at in self._long.values():
            wait = min(wait, max(0.0, (at - now).total_seconds()))
        return max(wait, 0.01)

    def _attempt_guarded(self, ident: UUID) -> None:
        try:
            self.attempt(ident)
        except Exception as error:  # noqa: BLE001 - the store failed: the next pass retries
            log.warning("notifier: delivery %s not attempted: %s", ident, type(error).__name__)
        finally:
            with self._lock:
                self._sending.discard(ident)
            self.wakeup.set()

    def attempt(self, ident: UUID) -> Delivery | None:
        """Claim, send and record one attempt; the delivery after it (None if not ours)."""
        delivery = self.app.claim_delivery(
            ident, owner=self.owner, now=self.clock.now(), lease=self.lease
        )
        if delivery is None:
            current = self.app.aggregate_or_none(ident)
            if isinstance(current, Delivery):
                self._note(current)
            return None
        self._note(delivery)
        result = self._send(delivery)
        self.app.record_attempt(
            delivery,
            ok=result.ok,
            status_code=result.status_code,
            error=result.error,
            permanent=result.permanent,
            now=self.clock.now(),
        )
        self._note(delivery)
        self.stats.record(delivery, self.clock.now())
        if result.ok:
            log.info("notifier: delivered %s (%s)", delivery.id, delivery.event)
        else:
            log.warning(
                "notifier: delivery %s to channel %r failed (attempt %d): %s",
                delivery.id,
                delivery.channel_name,
                delivery.attempts,
                result.error,
            )
        return delivery

    def _send(self, delivery: Delivery) -> SendResult:
        try:
            channel = self.app.get_channel(delivery.channel_id)
        except NotFound:
            return SendResult(False, error="the channel was deleted", permanent=True)
        try:
            secrets = self.app.channel_secrets(channel)
        except JobLedgerError as error:
            return SendResult(False, error=str(error), permanent=True)
        sender = self.senders.get(channel.type)
        if sender is None:
            return SendResult(False, error=f"no sender for {channel.type} channels")
        outgoing = Outgoing(
            channel_type=channel.type,
            config=dict(channel.config),
            secrets=secrets,
            payload=delivery.payload,
            idempotency_key=str(delivery.id),
        )
        try:
            return sender.send(outgoing)
        except Exception as error:  # noqa: BLE001 - a sender's bug must not stop deliveries
            return SendResult(False, error=f"the sender failed: {type(error).__name__}")


def summary(notifier: Notifier) -> dict[str, Any]:
    """What /healthz may show: how many deliveries wait."""
    return {"pending_deliveries": len(notifier.pending()), **notifier.stats.figures()}
