"""The audit read model: who changed which job, who ran or cancelled what, who got access.

One row per audited event, keyed by (stream id, version): the event's own stream and
position, so unique, and for a job's rows the order of its history. Global listings go
newest first by (at, stream id, version). Each row has an `action`:

- job.created, job.changed, job.deleted: every Job event (stream: the job). The row carries
  the job's name at the time: known from the batch when the job was registered or renamed
  in it, else taken by the view from the job's previous audit row. `changes` is
  `Job.Event.changes()`, which names secrets but never holds a secret's ciphertext.
- run.requested: a run asked for by a person (trigger "manual"), with the effective
  parameters it runs with in `details` (parameters are never secrets: those are stored
  apart, encrypted). Scheduled runs and retries are the system's doing, not audited here.
  A webhook's run request is one too (stream: the call, `domain.webhook_call`): actor
  "webhook:<trigger name>", `details` with the trigger's id and the caller's address.
- run.cancelled: a person asked to stop a run (stream: the run).
- token.created, token.revoked, sign_in.succeeded, sign_in.failed: `domain.access_log`
  events; `details` has the token's name (and role), or the client address of a sign-in.
- trigger.created, trigger.revoked: a job's webhook trigger (stream: the trigger);
  `details` has its id and name.
- webhook.refused: a call to a webhook trigger that started nothing (stream: the call);
  `details` has the trigger id, the caller's address, the status answered and why.
- channel.created, channel.changed, channel.deleted: a notification channel (stream: the
  channel); channel.tested: a test message asked for (stream: the delivery). `details`
  has the channel's id, name and type (from the batch, else from the channel's previous
  row), and secrets by name only (`secrets` on creation, `secret` when one is stored or
  removed); a change's `changes` is {field: {"from", "to"}} for the name or the config.

`details` never holds a token or a secret value.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking

from domain.access_log import Access
from domain.delivery import Delivery
from domain.errors import InvalidInput
from domain.job import Job
from domain.notification_channel import NotificationChannel
from domain.run import Run
from domain.trigger import Trigger
from domain.webhook_call import WebhookCall
from projections.base import BatchProjection, BatchView, decode_cursor, encode_cursor

AUDIT_COLUMNS = (
    "stream_id",
    "version",
    "job_id",
    "job_name",
    "action",
    "event",
    "at",
    "actor",
    "changes",
    "details",
)

JOB_ACTIONS = ("job.created", "job.changed", "job.deleted")
ACTIONS = (
    *JOB_ACTIONS,
    "run.requested",
    "run.cancelled",
    "token.created",
    "token.revoked",
    "sign_in.succeeded",
    "sign_in.failed",
    "trigger.created",
    "trigger.revoked",
    "webhook.refused",
    "channel.created",
    "channel.changed",
    "channel.deleted",
    "channel.tested",
)

CHANNEL_ACTIONS = ("channel.created", "channel.changed", "channel.deleted", "channel.tested")

# Every Job event class: all of them are configuration changes worth auditing. (The
# aggregate's metaclass also makes a `Created` class that the Job never uses: Registered
# is its created event.)
JOB_EVENTS: tuple[type, ...] = tuple(
    cls
    for name, cls in vars(Job).items()
    if isinstance(cls, type) and issubclass(cls, Job.Event) and name not in ("Event", "Created")
)
ACCESS_ACTIONS: dict[type, str] = {
    Access.TokenCreated: "token.created",
    Access.TokenRevoked: "token.revoked",
    Access.SignedIn: "sign_in.succeeded",
    Access.SignInFailed: "sign_in.failed",
}
RUN_EVENTS: tuple[type, ...] = (Run.Requested, Run.CancelRequested)
WEBHOOK_EVENTS: tuple[type, ...] = (
    Trigger.Created,
    Trigger.Revoked,
    WebhookCall.Accepted,
    WebhookCall.Refused,
)
CHANNEL_EVENTS: tuple[type, ...] = (
    NotificationChannel.Created,
    NotificationChannel.Renamed,
    NotificationChannel.Reconfigured,
    NotificationChannel.SecretStored,
    NotificationChannel.SecretRemoved,
    NotificationChannel.Deleted,
)
# Only people's run requests (run now, rerun) are "who ran what": the scheduler's and
# retries are not. (A webhook's run request is audited from the call that made it.)
AUDITED_TRIGGERS = frozenset({"manual", "rerun"})


def job_action(event: Job.Event) -> str:
    """The action of a Job event: created, deleted, or any other change."""
    if isinstance(event, Job.Registered):
        return "job.created"
    if isinstance(event, Job.Deleted):
        return "job.deleted"
    return "job.changed"


def parse_actions(values: Iterable[str]) -> list[str] | None:
    """The `action` filter: names from ACTIONS, one or several (each value may also be a
    comma-separated list). None when empty; InvalidInput naming every unknown one."""
    wanted = [part.strip() for value in values for part in value.split(",") if part.strip()]
    unknown = [name for name in wanted if name not in ACTIONS]
    if unknown:
        raise InvalidInput(
            "action",
            f"{', '.join(repr(name) for name in unknown)} "
            f"{'is not an action' if len(unknown) == 1 else 'are not actions'}; "
            f"expected any of {', '.join(ACTIONS)}",
        )
    return list(dict.fromkeys(wanted)) or None


@dataclass
class AuditChanges:
    """A batch of audited events as audit rows (AUDIT_COLUMNS); a job row's job_name is
    None until resolved."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    names: dict[UUID, str] = field(default_factory=dict)  # latest name seen in the batch
    # A channel's name and type as the batch tells them (a type never changes).
    channels: dict[UUID, dict[str, str]] = field(default_factory=dict)

    def unnamed_job_ids(self) -> list[UUID]:
        """Jobs (and channels) whose name the batch does not tell: the view looks up their
        last audit row (a channel's stream id is its id, as a job's is)."""
        return list(
            {
                **{
                    row["job_id"]: None
                    for row in self.rows
                    if row["job_name"] is None and row["action"] in JOB_ACTIONS
                },
                **{channel_id: None for channel_id in self._unresolved_channels()},
            }
        )

    def _unresolved_channels(self) -> list[UUID]:
        return [
            UUID(row["details"]["channel_id"])
            for row in self.rows
            if row["action"] in CHANNEL_ACTIONS
            and not (row["details"].get("channel_name") and row["details"].get("channel_type"))
        ]

    def resolve_names(
        self, names: dict[UUID, str], details: dict[UUID, dict[str, Any]] | None = None
    ) -> None:
        """Fill in the names of `unnamed_job_ids` (an unknown job keeps None), and a
        channel's name and type from `details`, its last row's details."""
        for row in self.rows:
            if row["job_name"] is None and row["action"] in JOB_ACTIONS:
                row["job_name"] = names.get(row["job_id"])
            elif row["action"] in CHANNEL_ACTIONS:
                known = (details or {}).get(UUID(row["details"]["channel_id"])) or {}
                for key in ("channel_name", "channel_type"):
                    if not row["details"].get(key):
                        row["details"][key] = known.get(key)


class AuditView(BatchView):
    """The audit view: appends `AuditChanges`, answers history and audit queries.

    An audit entry dict has: stream_id, version, job_id (None for access entries),
    job_name, action, event (the event class name, e.g. "Renamed"), at, actor, changes
    ({field: {"from": old, "to": new}}, job entries only) and details (a JSON object).
    """

    name = "audit"  # the tracking name: Tracking("audit", notification_id)

    @abstractmethod
    def apply(self, changes: AuditChanges, tracking: Tracking) -> None:
        """Append the batch's rows and record `tracking` in one transaction."""

    @abstractmethod
    def history(self, job_id: UUID) -> list[dict[str, Any]]:
        """Every change of one job (its own events), in version order (deleted jobs too)."""

    @abstractmethod
    def entries(
        self,
        *,
        job_id: UUID | None = None,
        actor: str | None = None,
        actions: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of audit entries, newest first by (at, stream_id, version), and the next
        page's cursor or None. `job_id` matches a job's changes and its runs' requests and
        cancellations; `actions` any of those names; `since` is inclusive and `until`
        exclusive, on `at`. `offset` skips that many entries after the cursor.
        """

    @abstractmethod
    def count_entries(
        self,
        *,
        job_id: UUID | None = None,
        actor: str | None = None,
        actions: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """How many entries `entries` with the same filter lists, over all its pages."""


def audit_cursor(entry: dict[str, Any]) -> str:
    return encode_cursor(entry["at"], str(entry["stream_id"]), entry["version"])


def parse_audit_cursor(cursor: str) -> tuple[datetime, UUID, int]:
    """A cursor's (at, stream id, version). Cursors issued before the stream id existed
    hold the job id, which is a job row's stream id: they still work."""
    at, stream_id, version = decode_cursor(cursor, 3)
    try:
        if not isinstance(version, int):
            raise ValueError
        return datetime.fromisoformat(at), UUID(stream_id), version
    except (ValueError, TypeError, AttributeError):
        raise InvalidInput("cursor", "is not a cursor this service issued") from None


class AuditProjection(BatchProjection[AuditView]):
    """Keeps the audit view from Job events, people's run requests and cancellations, and
    access events."""

    name = "audit"
    event_classes = (
        *JOB_EVENTS,
        *RUN_EVENTS,
        *ACCESS_ACTIONS,
        *WEBHOOK_EVENTS,
        *CHANNEL_EVENTS,
        Delivery.Requested,
    )

    def new_changes(self) -> AuditChanges:
        return AuditChanges()

    def fold(self, changes: AuditChanges, event: Any) -> None:
        if isinstance(event, Job.Event):
            self._job(changes, event)
        elif isinstance(event, Run.Requested):
            if event.trigger in AUDITED_TRIGGERS:
                details = {"run_id": str(event.originator_id), "parameters": event.parameters}
                if event.trigger == "rerun":
                    details.update(trigger="rerun", rerun_of=str(event.rerun_of))
                self._row(changes, event, "run.requested", event.requested_by, details)
        elif isinstance(event, Run.CancelRequested):
            if not event.actor.startswith("system"):
                details = {"run_id": str(event.originator_id)}
                self._row(changes, event, "run.cancelled", event.actor, details)
        elif isinstance(event, Access.Recorded):
            action = ACCESS_ACTIONS.get(type(event))
            if action is not None:
                self._row(changes, event, action, event.actor, _access_details(event))
        elif isinstance(event, WEBHOOK_EVENTS):
            self._webhook(changes, event)
        elif isinstance(event, CHANNEL_EVENTS):
            self._channel(changes, event)
        elif isinstance(event, Delivery.Requested) and event.event == "test":
            actor = str(event.payload.get("requested_by", "unknown"))
            details = self._channel_details(changes, event.channel_id, event.channel_name)
            details["delivery_id"] = str(event.originator_id)
            self._row(changes, event, "channel.tested", actor, details)

    def _channel(self, changes: AuditChanges, event: Any) -> None:
        """A channel's row: never a secret's value or ciphertext, only its name."""
        channel_id = event.originator_id
        known = changes.channels.setdefault(channel_id, {})
        action = "channel.changed"
        diff: dict[str, Any] = {}
        details: dict[str, Any] = {}
        if isinstance(event, NotificationChannel.Created):
            known.update(channel_name=event.name, channel_type=event.type)
            action = "channel.created"
            details = {"config": event.config, "secrets": sorted(event.secrets)}
        elif isinstance(event, NotificationChannel.Renamed):
            known["channel_name"] = event.name
            diff = {"name": {"from": event.previous, "to": event.name}}
        elif isinstance(event, NotificationChannel.Reconfigured):
            diff = {"config": {"from": event.previous, "to": event.config}}
        elif isinstance(event, NotificationChannel.SecretStored):
            details = {"secret": event.name, "secret_change": "stored"}
        elif isinstance(event, NotificationChannel.SecretRemoved):
            details = {"secret": event.name, "secret_change": "removed"}
        elif isinstance(event, NotificationChannel.Deleted):
            action = "channel.deleted"
        row_details = {**self._channel_details(changes, channel_id, None), **details}
        self._row(changes, event, action, event.actor, row_details)
        changes.rows[-1]["changes"] = diff

    @staticmethod
    def _channel_details(
        changes: AuditChanges, channel_id: UUID, name: str | None
    ) -> dict[str, Any]:
        known = changes.channels.get(channel_id, {})
        return {
            "channel_id": str(channel_id),
            "channel_name": name or known.get("channel_name"),
            "channel_type": known.get("channel_type"),
        }

    def _webhook(self, changes: AuditChanges, event: Any) -> None:
        if isinstance(event, (Trigger.Created, Trigger.Revoked)):
            action = "trigger.created" if isinstance(event, Trigger.Created) else "trigger.revoked"
            details: dict[str, Any] = {"trigger_id": str(event.originator_id)}
            if isinstance(event, Trigger.Created):
                details["trigger_name"] = event.name
            self._row(changes, event, action, event.actor, details)
        elif isinstance(event, WebhookCall.Accepted):
            details = {
                "run_id": str(event.run_id),
                "parameters": event.parameters,
                "trigger_id": str(event.trigger_id),
                "client": event.client,
            }
            self._row(changes, event, "run.requested", event.actor, details)
        elif isinstance(event, WebhookCall.Refused):
            details = {
                "trigger_id": str(event.trigger_id),
                "client": event.client,
                "status": event.status,
                "reason": event.reason,
            }
            self._row(changes, event, "webhook.refused", event.actor, details)

    @staticmethod
    def _job(changes: AuditChanges, event: Job.Event) -> None:
        job_id = event.originator_id
        if isinstance(event, (Job.Registered, Job.Renamed)):
            changes.names[job_id] = event.name
        changes.rows.append(
            {
                "stream_id": job_id,
                "version": event.originator_version,
                "job_id": job_id,
                "job_name": changes.names.get(job_id),
                "action": job_action(event),
                "event": type(event).__name__,
                "at": event.timestamp,
                "actor": event.actor,
                "changes": event.changes(),
                "details": {},
            }
        )

    @staticmethod
    def _row(
        changes: AuditChanges, event: Any, action: str, actor: str, details: dict[str, Any]
    ) -> None:
        changes.rows.append(
            {
                "stream_id": event.originator_id,
                "version": event.originator_version,
                "job_id": getattr(event, "job_id", None),
                "job_name": getattr(event, "job_name", None),
                "action": action,
                "event": type(event).__name__,
                "at": event.timestamp,
                "actor": actor,
                "changes": {},
                "details": details,
            }
        )


def _access_details(event: Access.Recorded) -> dict[str, Any]:
    """What an access entry shows: never a token, only its id, name and role; a sign-in's
    client address."""
    if isinstance(event, (Access.TokenCreated, Access.TokenRevoked)):
        return {"token_id": event.token_id, "token_name": event.token_name, "role": event.role}
    if isinstance(event, Access.SignedIn):
        return {"token_id": event.token_id, "token_name": event.token_name, "client": event.client}
    if isinstance(event, Access.SignInFailed):
        named = {} if event.token_id is None else {"token_id": event.token_id}
        return {**named, "token_name": event.token_name, "client": event.client}
    return {}
