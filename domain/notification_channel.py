"""The NotificationChannel aggregate: where notifications go (a webhook, Slack, Teams or an
email address list), managed by administrators.

Its secret fields (a signing secret, an SMTP password, a Slack URL) are stored encrypted,
as job secrets are, under the channel's own data key: events hold only ciphertexts, and
deleting the channel shreds the key.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain import values
from domain.channel_config import check_config
from domain.errors import NotFound


class NotificationChannel(Aggregate):
    """A named destination for notifications, of one type."""

    class Event(Aggregate.Event):
        actor: str

    class Created(Event, Aggregate.Created):
        name: str
        type: str
        config: dict[str, Any]
        secrets: dict[str, str]  # name -> ciphertext

    class Renamed(Event):
        name: str
        previous: str

        def apply(self, channel: NotificationChannel) -> None:
            channel.name = self.name

    class Reconfigured(Event):
        config: dict[str, Any]
        previous: dict[str, Any]

        def apply(self, channel: NotificationChannel) -> None:
            channel.config = self.config

    class SecretStored(Event):
        name: str
        ciphertext: str

        def apply(self, channel: NotificationChannel) -> None:
            channel.secrets[self.name] = self.ciphertext

    class SecretRemoved(Event):
        name: str

        def apply(self, channel: NotificationChannel) -> None:
            channel.secrets.pop(self.name, None)

    class Deleted(Event):
        def apply(self, channel: NotificationChannel) -> None:
            channel.deleted = True
            channel.secrets = {}

    def __init__(
        self,
        *,
        name: str,
        type: str,
        config: dict[str, Any],
        secrets: dict[str, str],
        actor: str,
    ) -> None:
        self.name = name
        self.type = type
        self.config = config
        self.secrets = dict(secrets)
        self.created_by = actor
        self.deleted = False

    def __repr__(self) -> str:
        # Ciphertexts stay out of reprs (and so out of tracebacks and logs).
        return (
            f"NotificationChannel(id={self.id}, name={self.name!r}, type={self.type!r}, "
            f"secrets={sorted(self.secrets)})"
        )

    def check_not_deleted(self) -> None:
        if self.deleted:
            raise NotFound("notification channel", self.id)

    def rename(self, name: object, actor: str) -> None:
        self.check_not_deleted()
        checked = values.job_name(name)
        if checked != self.name:
            self.trigger_event(self.Renamed, name=checked, previous=self.name, actor=actor)

    def reconfigure(self, config: object, actor: str, secret_names: set[str]) -> None:
        self.check_not_deleted()
        checked = check_config(self.type, config, secret_names)
        if checked != self.config:
            self.trigger_event(self.Reconfigured, config=checked, previous=self.config, actor=actor)

    def store_secret(self, name: str, ciphertext: str, actor: str) -> None:
        """Record an already-encrypted secret (checked by `channel_config.check_secrets`)."""
        self.check_not_deleted()
        self.trigger_event(self.SecretStored, name=name, ciphertext=ciphertext, actor=actor)

    def remove_secret(self, name: str, actor: str) -> None:
        self.check_not_deleted()
        if name not in self.secrets:
            raise NotFound("secret", name)
        self.trigger_event(self.SecretRemoved, name=name, actor=actor)

    def delete(self, actor: str) -> None:
        self.check_not_deleted()
        self.trigger_event(self.Deleted, actor=actor)


def new_channel_id() -> UUID:
    return uuid4()


def create(
    *,
    channel_id: UUID,
    name: str,
    type: str,
    config: dict[str, Any],
    secrets: dict[str, str],
    actor: str,
) -> NotificationChannel:
    """`config` and `secrets` already checked; `secrets` are ciphertexts."""
    return NotificationChannel._create(
        NotificationChannel.Created,
        id=channel_id,
        name=name,
        type=type,
        config=config,
        secrets=secrets,
        actor=actor,
    )
