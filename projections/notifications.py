"""The notifications read model: notification channels (their settings and their secrets by
name only), webhook triggers, and each run's deliveries ("what was sent").

The listings read it instead of the event streams. The write side keeps its own checks
(unique names are the commands' business, on the aggregates), so a listing that lags a
moment behind a save decides nothing.

These rows are few and change one at a time, so a batch folds into an ordered list of row
operations, applied in order in one transaction: no read-modify-write, and an event's
effect never depends on how the batch was cut.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.delivery import DELIVERED, GIVEN_UP, PENDING, SENDING, Delivery
from domain.notification_channel import NotificationChannel
from domain.trigger import Trigger
from projections.base import BatchProjection, BatchView

Op = tuple[str, UUID, dict[str, Any]]  # (operation, row id, values)

# Channel operations: "channel" (insert or replace), "channel_set", "channel_gone",
# "secret_add", "secret_remove"; triggers: "trigger", "trigger_set"; deliveries:
# "delivery", "delivery_set". Each view maps them to its statements.


@dataclass
class NotificationsChanges:
    ops: list[Op] = field(default_factory=list)

    def add(self, op: str, ident: UUID, **values: Any) -> None:
        self.ops.append((op, ident, values))


class NotificationsView(BatchView):
    """Channels, triggers and deliveries, as the API, the pages and the CLI list them."""

    name = "notifications"

    @abstractmethod
    def apply(self, changes: NotificationsChanges, tracking: Any) -> None: ...

    @abstractmethod
    def channels(self) -> list[dict[str, Any]]:
        """Every live channel, by name: {id, version, name, type, config, secrets (names,
        sorted), created_by, created_at, updated_at}. Never a secret's value."""

    @abstractmethod
    def job_triggers(self, job_id: UUID, *, revoked: bool = False) -> list[dict[str, Any]]:
        """The job's live triggers (with `revoked`, the revoked ones too), oldest first:
        {id, job_id, name, created_at, created_by, revoked_at, revoked_by}. Never a token
        or its hash."""

    @abstractmethod
    def run_deliveries(self, run_id: UUID) -> list[dict[str, Any]]:
        """What was sent for the run, in request order: `Delivery.summary()`'s fields."""


def _channel(changes: NotificationsChanges, e: Any) -> None:
    ident, version, at = e.originator_id, e.originator_version, e.timestamp
    if isinstance(e, NotificationChannel.Created):
        changes.add(
            "channel", ident, version=version, name=e.name, type=e.type, config=e.config,
            created_by=e.actor, created_at=at, updated_at=at,
        )  # fmt: skip
        for name in e.secrets:
            changes.add("secret_add", ident, name=name)
        return
    if isinstance(e, NotificationChannel.Deleted):
        changes.add("channel_gone", ident)
        return
    values: dict[str, Any] = {"version": version, "updated_at": at}
    if isinstance(e, NotificationChannel.Renamed):
        values["name"] = e.name
    elif isinstance(e, NotificationChannel.Reconfigured):
        values["config"] = e.config
    elif isinstance(e, NotificationChannel.SecretStored):
        changes.add("secret_add", ident, name=e.name)
    elif isinstance(e, NotificationChannel.SecretRemoved):
        changes.add("secret_remove", ident, name=e.name)
    changes.add("channel_set", ident, **values)


def _trigger(changes: NotificationsChanges, e: Any) -> None:
    if isinstance(e, Trigger.Created):
        changes.add(
            "trigger", e.originator_id, job_id=e.job_id, name=e.name, created_at=e.timestamp,
            created_by=e.actor,
        )  # fmt: skip
    elif isinstance(e, Trigger.Revoked):
        changes.add("trigger_set", e.originator_id, revoked_at=e.timestamp, revoked_by=e.actor)


def _delivery(changes: NotificationsChanges, e: Any) -> None:
    ident = e.originator_id
    if isinstance(e, Delivery.Requested):
        changes.add(
            "delivery", ident, run_id=e.run_id, job_id=e.job_id, channel_id=e.channel_id,
            channel_name=e.channel_name, event=e.event, status=PENDING, attempts=0,
            last_status_code=None, last_error="", requested_at=e.requested_at,
            next_attempt_at=e.requested_at, settled_at=None,
        )  # fmt: skip
    elif isinstance(e, Delivery.Claimed):
        changes.add("delivery_set", ident, status=SENDING, attempts=e.attempt)
    elif isinstance(e, Delivery.Attempted):
        changes.add(
            "delivery_set", ident, status=PENDING, last_status_code=e.status_code,
            last_error=e.error, next_attempt_at=e.next_attempt_at,
        )  # fmt: skip
    elif isinstance(e, Delivery.Delivered):
        changes.add(
            "delivery_set", ident, status=DELIVERED, last_status_code=e.status_code,
            last_error="", next_attempt_at=None, settled_at=e.timestamp,
        )  # fmt: skip
    elif isinstance(e, Delivery.GaveUp):
        changes.add(
            "delivery_set", ident, status=GIVEN_UP, last_status_code=e.status_code,
            last_error=e.error, next_attempt_at=None, settled_at=e.timestamp,
        )  # fmt: skip


CHANNEL_EVENTS = (
    NotificationChannel.Created,
    NotificationChannel.Renamed,
    NotificationChannel.Reconfigured,
    NotificationChannel.SecretStored,
    NotificationChannel.SecretRemoved,
    NotificationChannel.Deleted,
)
TRIGGER_EVENTS = (Trigger.Created, Trigger.Revoked)
DELIVERY_EVENTS = (
    Delivery.Requested,
    Delivery.Claimed,
    Delivery.Attempted,
    Delivery.Delivered,
    Delivery.GaveUp,
)


class NotificationsProjection(BatchProjection[NotificationsView]):
    """Keeps the notifications view from channel, trigger and delivery events."""

    name = "notifications"
    event_classes = (*CHANNEL_EVENTS, *TRIGGER_EVENTS, *DELIVERY_EVENTS)

    def new_changes(self) -> NotificationsChanges:
        return NotificationsChanges()

    def fold(self, changes: NotificationsChanges, event: Any) -> None:
        kind = type(event)
        if kind in CHANNEL_EVENTS:
            _channel(changes, event)
        elif kind in TRIGGER_EVENTS:
            _trigger(changes, event)
        elif kind in DELIVERY_EVENTS:
            _delivery(changes, event)
