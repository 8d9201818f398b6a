"""The Delivery aggregate: one notification to one channel, from request to outcome.

Its id is derived from (run, event, channel), so two notifiers deciding the same
notification write the same stream and the store lets one of them win. Sending is claimed
first: the claim is an event at the next version, so two notifiers cannot both claim the
same attempt, and it carries a lease after which a notifier that died mid-send is presumed
dead and another may try again (delivery is at least once; receivers drop repeats by the
Idempotency-Key, which is the delivery's id).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import Conflict

# Never change it: every notifier must derive the same id for the same notification.
DELIVERY_NAMESPACE = uuid5(NAMESPACE_URL, "https://jobledger.dev/ns/notification-delivery")

FIRST_RETRY = timedelta(seconds=10)
MAX_RETRY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)
MAX_ERROR = 500

PENDING, SENDING, DELIVERED, GIVEN_UP = "pending", "sending", "delivered", "given_up"


def delivery_id(run_id: UUID, event: str, channel_id: UUID) -> UUID:
    return uuid5(DELIVERY_NAMESPACE, f"{run_id}/{event}/{channel_id}")


def retry_delay(attempt: int) -> timedelta:
    """Exponential: 10 s after the first failed attempt, doubling, at most an hour apart."""
    return min(MAX_RETRY, FIRST_RETRY * 2 ** min(attempt - 1, 20))


class Delivery(Aggregate):
    """A notification's delivery to one channel."""

    class Requested(Aggregate.Created):
        run_id: UUID | None
        job_id: UUID | None
        channel_id: UUID
        channel_name: str
        event: str
        payload: dict[str, Any]
        requested_at: datetime  # from the clock port, so backoff runs on a fake clock too

    class Claimed(Aggregate.Event):
        owner: str
        attempt: int
        lease_until: datetime

        def apply(self, delivery: Delivery) -> None:
            delivery.status = SENDING
            delivery.owner = self.owner
            delivery.attempts = self.attempt
            delivery.lease_until = self.lease_until

    class Attempted(Aggregate.Event):
        """A failed attempt; another follows at `next_attempt_at`."""

        attempt: int
        status_code: int | None
        error: str
        next_attempt_at: datetime

        def apply(self, delivery: Delivery) -> None:
            delivery.status = PENDING
            delivery.lease_until = None
            delivery.last_status_code = self.status_code
            delivery.last_error = self.error
            delivery.next_attempt_at = self.next_attempt_at

    class Delivered(Aggregate.Event):
        attempt: int
        status_code: int | None

        def apply(self, delivery: Delivery) -> None:
            delivery.status = DELIVERED
            delivery.lease_until = None
            delivery.last_status_code = self.status_code
            delivery.last_error = ""
            delivery.settled_at = self.timestamp

    class GaveUp(Aggregate.Event):
        attempt: int
        status_code: int | None
        error: str

        def apply(self, delivery: Delivery) -> None:
            delivery.status = GIVEN_UP
            delivery.lease_until = None
            delivery.last_status_code = self.status_code
            delivery.last_error = self.error
            delivery.settled_at = self.timestamp

    def __init__(
        self,
        *,
        run_id: UUID | None,
        job_id: UUID | None,
        channel_id: UUID,
        channel_name: str,
        event: str,
        payload: dict[str, Any],
        requested_at: datetime,
    ) -> None:
        self.requested_at = requested_at
        self.run_id = run_id
        self.job_id = job_id
        self.channel_id = channel_id
        self.channel_name = channel_name
        self.event = event
        self.payload = payload
        self.status = PENDING
        self.attempts = 0
        self.owner: str | None = None
        self.lease_until: datetime | None = None
        self.next_attempt_at: datetime = requested_at
        self.last_status_code: int | None = None
        self.last_error = ""
        self.settled_at: datetime | None = None

    @property
    def settled(self) -> bool:
        return self.status in (DELIVERED, GIVEN_UP)

    def due_at(self) -> datetime | None:
        """When it may next be claimed: None once settled."""
        if self.settled:
            return None
        if self.status == SENDING and self.lease_until is not None:
            return self.lease_until
        return self.next_attempt_at

    def claim(self, owner: str, now: datetime, lease: timedelta) -> int:
        """Take the next attempt; its number. Refused when settled, not yet due, or held by
        a live lease. Saving the claim is what makes it exclusive (the next version)."""
        due = self.due_at()
        if due is None or due > now:
            raise Conflict(f"delivery {self.id} is not due")
        attempt = self.attempts + 1
        self.trigger_event(self.Claimed, owner=owner, attempt=attempt, lease_until=now + lease)
        return attempt

    def succeeded(self, status_code: int | None) -> None:
        self.trigger_event(self.Delivered, attempt=self.attempts, status_code=status_code)

    def failed(
        self, status_code: int | None, error: str, now: datetime, *, permanent: bool = False
    ) -> None:
        """Schedule the next attempt, or give up when the receiver refused for good or the
        next attempt would fall more than a day after the request."""
        error = error[:MAX_ERROR]
        next_at = now + retry_delay(self.attempts)
        if permanent or next_at > self.requested_at + GIVE_UP_AFTER:
            self.trigger_event(
                self.GaveUp, attempt=self.attempts, status_code=status_code, error=error
            )
        else:
            self.trigger_event(
                self.Attempted,
                attempt=self.attempts,
                status_code=status_code,
                error=error,
                next_attempt_at=next_at,
            )

    def summary(self) -> dict[str, Any]:
        """What the API and pages show: never a secret (the payload holds none)."""
        return {
            "id": self.id,
            "run_id": self.run_id,
            "job_id": self.job_id,
            "channel_id": self.channel_id,
            "channel_name": self.channel_name,
            "event": self.event,
            "status": self.status,
            "attempts": self.attempts,
            "last_status_code": self.last_status_code,
            "last_error": self.last_error,
            "requested_at": self.requested_at,
            "next_attempt_at": None if self.settled else self.next_attempt_at,
            "settled_at": self.settled_at,
        }


def request(
    *,
    run_id: UUID | None,
    job_id: UUID | None,
    channel_id: UUID,
    channel_name: str,
    event: str,
    payload: dict[str, Any],
    at: datetime,
) -> Delivery:
    """A delivery request. A test message (no run) gets a fresh id."""
    ident = uuid4() if run_id is None else delivery_id(run_id, event, channel_id)
    return Delivery._create(
        Delivery.Requested,
        id=ident,
        run_id=run_id,
        job_id=job_id,
        channel_id=channel_id,
        channel_name=channel_name,
        event=event,
        payload=payload,
        requested_at=at,
    )
