"""Commands of the notifier: decide what a run outcome notifies (once), and claim and record
delivery attempts.

A decision is saved in one write: the job's alert state (`JobAlerts`), the run outcome's
decision record (`RunNotified`) and the deliveries it requests. The decision record's id is
derived from the run and outcome, so of two notifiers deciding the same outcome the store
keeps one; the alert state serializes outcomes of the same job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from application.channel_commands import ChannelCommands
from application.notification_payload import run_payload, silence_payload
from domain import delivery as delivery_model
from domain import job_alerts
from domain.delivery import Delivery
from domain.errors import Conflict
from domain.job import Job
from domain.job_alerts import JobAlerts, RunNotified
from domain.notify_rules import events_by_channel
from domain.run import Run, scheduled_run_id

log = logging.getLogger("jobledger.notifier")
DECIDE_TRIES = 5


@dataclass(frozen=True)
class NotifySettings:
    """The installation-wide part of the rules: the default rules every job has too, the
    suppression window, and the base URL of the links to run pages."""

    default_rules: list[dict[str, Any]] = field(default_factory=list)
    window: timedelta = job_alerts.DEFAULT_WINDOW
    base_url: str = "http://127.0.0.1:8080"
    # A scheduled job that has not run by this long after its next fire time is `missed`.
    missed_grace: timedelta = timedelta(minutes=5)


class NotificationCommands(ChannelCommands):
    """Mixed into the application: notification decisions and delivery attempts."""

    def job_alerts(self, job_id: UUID) -> JobAlerts | None:
        """A job's alert state from two events (its first and its last), never the whole
        stream: see `JobAlerts`."""
        ident = job_alerts.job_alerts_id(job_id)
        first = list(self.repository.event_store.get(ident, lte=1))
        if not first:
            return None
        last = list(self.repository.event_store.get(ident, desc=True, limit=1))
        return job_alerts.restore(first[0], last[0])

    def decide_notifications(
        self, run_id: UUID, outcome: str, *, now: datetime, settings: NotifySettings
    ) -> RunNotified | None:
        """Record what this outcome of this run notifies, unless already decided. None when
        it was decided before (here or by another notifier) or its job has no rules."""
        for _ in range(DECIDE_TRIES):
            if self.aggregate_or_none(job_alerts.decision_id(run_id, outcome)) is not None:
                return None
            try:
                return self._decide_once(run_id, outcome, now, settings)
            except Conflict:
                continue  # the job's alert state moved on: decide again on the new state
        raise Conflict(f"could not record the notifications of run {run_id}; try again")

    def _decide_once(
        self, run_id: UUID, outcome: str, now: datetime, settings: NotifySettings
    ) -> RunNotified | None:
        run = self.aggregate_or_none(run_id)
        if not isinstance(run, Run):
            return None
        job = self.aggregate_or_none(run.job_id)
        if not isinstance(job, Job) or job.deleted:
            return None
        rules = events_by_channel(job.policies.get("notify") or [], settings.default_rules)
        if not rules:
            return None
        alerts = self.job_alerts(job.id) or job_alerts.start(job.id)
        decision = alerts.decide(outcome, now, settings.window)
        if outcome != "long_running":
            duration = None
            if run.started_at is not None and run.finished_at is not None:
                duration = (run.finished_at - run.started_at).total_seconds()
            alerts.note(
                run.id, outcome, now, alerted=bool(decision.events), duration_seconds=duration
            )
        deliveries: list[Delivery] = []
        for channel_name, events in sorted(rules.items()):
            wanted = [event for event in decision.events if event in events]
            if not wanted:
                continue
            channel = self.channel_named(channel_name)
            if channel is None:
                log.warning(
                    "job %s notifies channel %r, which does not exist; nothing sent there",
                    job.id,
                    channel_name,
                )
                continue
            for event in wanted:
                ident = delivery_model.delivery_id(run.id, event, channel.id)
                payload = run_payload(
                    delivery_id=ident,
                    event=event,
                    run=run,
                    job_name=job.name,
                    base_url=settings.base_url,
                    failures=decision.failures,
                    suppressed=decision.suppressed,
                )
                deliveries.append(
                    delivery_model.request(
                        run_id=run.id,
                        job_id=job.id,
                        channel_id=channel.id,
                        channel_name=channel.name,
                        event=event,
                        payload=payload,
                        at=now,
                    )
                )
        record = job_alerts.decided(
            run_id=run.id,
            job_id=job.id,
            outcome=outcome,
            events=list(decision.events),
            deliveries=[d.id for d in deliveries],
            suppressed=decision.suppressed,
        )
        self._save(alerts, record, *deliveries)
        return record

    def decide_silence(
        self,
        job_id: UUID,
        expected_at: datetime,
        *,
        last_run_at: datetime | None,
        now: datetime,
        settings: NotifySettings,
    ) -> RunNotified | None:
        """Record that a scheduled job did not run at `expected_at` (nor within the grace
        after it), once per slot: the decision's id is derived from the run that slot would
        have had. None when decided before, or nobody asked for `missed`."""
        slot_run = scheduled_run_id(job_id, expected_at)
        if self.aggregate_or_none(job_alerts.decision_id(slot_run, "missed")) is not None:
            return None
        if self.aggregate_or_none(slot_run) is not None:
            return None  # the slot's run exists after all: not silent
        job = self.aggregate_or_none(job_id)
        if not isinstance(job, Job) or job.deleted or not job.enabled:
            return None
        rules = events_by_channel(job.policies.get("notify") or [], settings.default_rules)
        targets = sorted(name for name, events in rules.items() if "missed" in events)
        if not targets:
            return None
        alerts = self.job_alerts(job.id) or job_alerts.start(job.id)
        decision = alerts.decide("missed", now, settings.window)
        alerts.note(slot_run, "missed", now, alerted=bool(decision.events))
        deliveries: list[Delivery] = []
        for channel_name in targets if decision.events else []:
            channel = self.channel_named(channel_name)
            if channel is None:
                continue
            ident = delivery_model.delivery_id(slot_run, "missed", channel.id)
            payload = silence_payload(
                delivery_id=ident,
                job_id=job.id,
                job_name=job.name,
                expected_at=expected_at,
                last_run_at=last_run_at,
                base_url=settings.base_url,
            )
            deliveries.append(
                delivery_model.request(
                    run_id=slot_run,
                    job_id=job.id,
                    channel_id=channel.id,
                    channel_name=channel.name,
                    event="missed",
                    payload=payload,
                    at=now,
                )
            )
        record = job_alerts.decided(
            run_id=slot_run,
            job_id=job.id,
            outcome="missed",
            events=list(decision.events),
            deliveries=[d.id for d in deliveries],
            suppressed=decision.suppressed,
        )
        try:
            self._save(alerts, record, *deliveries)
        except Conflict:
            return None  # decided meanwhile by another notifier, or the job moved on
        return record

    def long_running_threshold(self, job_id: UUID, settings: NotifySettings) -> float | None:
        """Seconds after which a run of this job counts as long-running: the job's own
        setting, else three times the median of its recent successful runs; None when no
        rule asks for `long_running` or there is no median yet."""
        job = self.aggregate_or_none(job_id)
        if not isinstance(job, Job) or job.deleted:
            return None
        rules = events_by_channel(job.policies.get("notify") or [], settings.default_rules)
        if not any("long_running" in events for events in rules.values()):
            return None
        own = job.policies.get("long_running_seconds")
        if own:
            return float(own)
        alerts = self.job_alerts(job_id)
        median = alerts.median_duration() if alerts is not None else None
        return None if median is None else 3 * max(median, 1.0)

    def get_delivery(self, delivery_id: UUID) -> Delivery:
        return self._load("delivery", Delivery, delivery_id)

    def claim_delivery(
        self, delivery_id: UUID, *, owner: str, now: datetime, lease: timedelta
    ) -> Delivery | None:
        """The delivery with this notifier's claim on its next attempt saved, or None when
        it is settled, not due, or another notifier claimed it first."""
        delivery = self.aggregate_or_none(delivery_id)
        if not isinstance(delivery, Delivery):
            return None
        try:
            delivery.claim(owner, now, lease)
            self._save(delivery)
        except Conflict:
            return None
        return delivery

    def record_attempt(
        self,
        delivery: Delivery,
        *,
        ok: bool,
        status_code: int | None,
        error: str,
        permanent: bool,
        now: datetime,
    ) -> bool:
        """Record the claimed attempt's outcome. False if the claim was lost meanwhile (its
        lease expired and another notifier took the delivery over)."""
        if ok:
            delivery.succeeded(status_code)
        else:
            delivery.failed(status_code, error, now, permanent=permanent)
        try:
            self._save(delivery)
        except Conflict:
            return False
        return True

    def run_notifications(self, run_id: UUID) -> list[dict[str, Any]]:
        """What was sent for a run, where, and each delivery's status."""
        found: list[dict[str, Any]] = []
        for outcome in (*job_alerts.FAILURES, "succeeded", "missed", "long_running"):
            record = self.aggregate_or_none(job_alerts.decision_id(run_id, outcome))
            if not isinstance(record, RunNotified):
                continue
            for ident in record.deliveries:
                delivery = self.aggregate_or_none(ident)
                if isinstance(delivery, Delivery):
                    found.append(delivery.summary())
        return found
