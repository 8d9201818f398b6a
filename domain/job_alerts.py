"""What a job's run outcomes mean for its notifications: repeats suppressed, recoveries
noticed.

`JobAlerts` is one stream per job (its id derived from the job's), so two notifiers noting
outcomes of the same job serialize on it. A failing job alerts on the first failure of a
streak, then at most once per suppression window (with how many failures it kept quiet), and
on recovery (with how many failures the streak held). `RunNotified` is one stream per run
outcome: the record that it has been decided, and which deliveries it caused; the store
refuses a second decision for the same outcome, whichever notifier makes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

ALERTS_NAMESPACE = uuid5(NAMESPACE_URL, "https://jobledger.dev/ns/job-alerts")
DECISION_NAMESPACE = uuid5(NAMESPACE_URL, "https://jobledger.dev/ns/run-notified")

FAILURES = ("failed", "timed_out", "abandoned")
DEFAULT_WINDOW = timedelta(hours=1)
RECENT_DURATIONS = 20


def job_alerts_id(job_id: UUID) -> UUID:
    return uuid5(ALERTS_NAMESPACE, str(job_id))


def decision_id(run_id: UUID, outcome: str) -> UUID:
    return uuid5(DECISION_NAMESPACE, f"{run_id}/{outcome}")


@dataclass(frozen=True)
class Decision:
    """The events to notify (before the rules pick channels) and what they count."""

    events: tuple[str, ...]
    failures: int  # failures in the streak so far (for a recovery: the streak's length)
    suppressed: int  # failures kept quiet since the last alert


class JobAlerts(Aggregate):
    """A job's failure streak and its last alerts.

    Each `Noted` event carries the whole state after it (a few fields), so loading needs
    only the stream's first and last events (`restore`), however many outcomes a job that
    fails every minute has noted: deciding never replays a long history.
    """

    class Started(Aggregate.Created):
        job_id: UUID

    class Noted(Aggregate.Event):
        run_id: UUID
        outcome: str
        at: datetime
        alerted: bool
        state: dict[str, Any]

        def apply(self, alerts: JobAlerts) -> None:
            alerts._set_state(self.state)

    def __init__(self, *, job_id: UUID) -> None:
        self.job_id = job_id
        self.failing = False
        self.streak = 0
        self.suppressed = 0
        self.last_alert_at: datetime | None = None
        self.last_missed_alert_at: datetime | None = None
        self.durations: list[float] = []

    def _state(self) -> dict[str, Any]:
        def text(moment: datetime | None) -> str | None:
            return None if moment is None else moment.isoformat()

        return {
            "failing": self.failing,
            "streak": self.streak,
            "suppressed": self.suppressed,
            "last_alert_at": text(self.last_alert_at),
            "last_missed_alert_at": text(self.last_missed_alert_at),
            "durations": list(self.durations),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        def moment(text: object) -> datetime | None:
            return datetime.fromisoformat(text) if isinstance(text, str) else None

        self.failing = bool(state["failing"])
        self.streak = int(state["streak"])
        self.suppressed = int(state["suppressed"])
        self.last_alert_at = moment(state["last_alert_at"])
        self.last_missed_alert_at = moment(state["last_missed_alert_at"])
        self.durations = [float(d) for d in state["durations"]]

    def _next_state(
        self, outcome: str, at: datetime, alerted: bool, duration: float | None
    ) -> dict[str, Any]:
        state = self._state()
        if outcome in FAILURES:
            state["streak"] = self.streak + 1 if self.failing else 1
            state["failing"] = True
            if alerted:
                state["last_alert_at"], state["suppressed"] = at.isoformat(), 0
            else:
                state["suppressed"] = self.suppressed + 1
        elif outcome == "succeeded":
            state.update(failing=False, streak=0, suppressed=0)
            if duration is not None:
                state["durations"] = [*self.durations, duration][-RECENT_DURATIONS:]
        elif outcome == "missed" and alerted:
            state["last_missed_alert_at"] = at.isoformat()
        return state

    def decide(self, outcome: str, at: datetime, window: timedelta) -> Decision:
        """What this outcome notifies, given the streak so far (pure: records nothing)."""
        if outcome in FAILURES:
            if not self.failing or self.last_alert_at is None:
                return Decision((outcome,), failures=1, suppressed=0)
            if at - self.last_alert_at >= window:
                return Decision((outcome,), failures=self.streak + 1, suppressed=self.suppressed)
            return Decision((), failures=self.streak + 1, suppressed=self.suppressed + 1)
        if outcome == "succeeded":
            if self.failing:
                return Decision(("succeeded", "recovered"), self.streak, self.suppressed)
            return Decision(("succeeded",), failures=0, suppressed=0)
        if outcome == "missed":
            last = self.last_missed_alert_at
            quiet = last is not None and at - last < window
            return Decision(() if quiet else ("missed",), failures=0, suppressed=0)
        if outcome == "long_running":
            return Decision(("long_running",), failures=0, suppressed=0)
        return Decision((), failures=0, suppressed=0)

    def note(
        self,
        run_id: UUID,
        outcome: str,
        at: datetime,
        *,
        alerted: bool,
        duration_seconds: float | None = None,
    ) -> None:
        self.trigger_event(
            self.Noted,
            run_id=run_id,
            outcome=outcome,
            at=at,
            alerted=alerted,
            state=self._next_state(outcome, at, alerted, duration_seconds),
        )

    def median_duration(self) -> float | None:
        """The median of the last successful runs' durations, once there are a few."""
        if len(self.durations) < 3:
            return None
        ordered = sorted(self.durations)
        middle = len(ordered) // 2
        if len(ordered) % 2:
            return ordered[middle]
        return (ordered[middle - 1] + ordered[middle]) / 2


def restore(first: Any, last: Any) -> JobAlerts:
    """The alert state from its stream's first event (`Started`) and its last: the last
    `Noted` holds the whole state, so the events between need not be read."""
    alerts = first.mutate(None)
    assert isinstance(alerts, JobAlerts)
    if last.originator_version > first.originator_version:
        alerts._version = last.originator_version - 1
        last.mutate(alerts)
    return alerts


def start(job_id: UUID) -> JobAlerts:
    return JobAlerts._create(JobAlerts.Started, id=job_alerts_id(job_id), job_id=job_id)


class RunNotified(Aggregate):
    """A run outcome's notification decision: made once, whichever notifier makes it."""

    class Decided(Aggregate.Created):
        run_id: UUID
        job_id: UUID
        outcome: str
        events: list[str]
        deliveries: list[UUID]
        suppressed: int

    def __init__(
        self,
        *,
        run_id: UUID,
        job_id: UUID,
        outcome: str,
        events: list[str],
        deliveries: list[UUID],
        suppressed: int,
    ) -> None:
        self.run_id = run_id
        self.job_id = job_id
        self.outcome = outcome
        self.events = events
        self.deliveries = deliveries
        self.suppressed = suppressed


def decided(
    *,
    run_id: UUID,
    job_id: UUID,
    outcome: str,
    events: list[str],
    deliveries: list[UUID],
    suppressed: int,
) -> RunNotified:
    return RunNotified._create(
        RunNotified.Decided,
        id=decision_id(run_id, outcome),
        run_id=run_id,
        job_id=job_id,
        outcome=outcome,
        events=events,
        deliveries=deliveries,
        suppressed=suppressed,
    )
