"""Commands on notification channels: create, change, delete, send a test message.

A channel's name is reserved in its own stream (`domain.channel_name`), saved in the same
write as the channel, as job names are (`application.job_names`). Its secrets are encrypted
with the vault under the channel's own data key before they reach an event, and the key is
shredded when the channel is deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.utils import get_topic

from application.base import LedgerBase
from domain import channel_config, values
from domain import delivery as delivery_model
from domain import notification_channel as channel_model
from domain.channel_name import ChannelName, channel_name_id, reserve
from domain.delivery import Delivery
from domain.errors import Conflict, InvalidInput, NotFound
from domain.job_name import normalize
from domain.notification_channel import NotificationChannel

CHANNEL_FIELDS = ("name", "config", "secrets")


class ChannelNameTaken(Conflict):
    """Another channel has this name (compared case-insensitively, trimmed): 409 naming it."""

    field = "name"

    def __init__(self, name: str) -> None:
        super().__init__(f"name: a channel named {name!r} already exists; choose another name")
        self.name = name


class ChannelCommands(LedgerBase):
    """Mixed into the application: manage notification channels."""

    def aggregate_or_none(self, ident: object) -> object:
        """The aggregate with this id (a UUID or its text), or None if there is none."""
        try:
            found: object = self.repository.get(UUID(str(ident)))
        except AggregateNotFoundError:
            return None
        return found

    def _channel_reservation(self, name: str) -> ChannelName | None:
        try:
            found: object = self.repository.get(channel_name_id(name))
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, ChannelName) else None

    def _claim_channel_name(self, name: str, channel_id: UUID) -> ChannelName | None:
        reservation = self._channel_reservation(name)
        if reservation is None:
            return reserve(name, channel_id)
        if reservation.holder == channel_id:
            return None
        if reservation.holder is not None:
            raise ChannelNameTaken(name)
        reservation.take(name, channel_id)
        return reservation

    def _release_channel_name(self, name: str, channel_id: UUID) -> ChannelName | None:
        reservation = self._channel_reservation(name)
        if reservation is None or reservation.holder != channel_id:
            return None
        reservation.release(channel_id)
        return reservation

    def _save_channel(self, name: str, channel_id: UUID, *aggregates: Any) -> None:
        try:
            self._save(*aggregates)
        except Conflict:
            reservation = self._channel_reservation(name)
            if reservation is not None and reservation.holder not in (None, channel_id):
                raise ChannelNameTaken(name) from None
            raise

    def create_channel(
        self,
        *,
        name: object,
        type: object,
        config: object,
        secrets: object,
        actor: str,
    ) -> NotificationChannel:
        """Check everything first, so a bad channel writes nothing (not even a data key)."""
        checked_name = values.job_name(name)
        kind = channel_config.channel_type(type)
        plain = channel_config.check_secrets(kind, secrets)
        checked = channel_config.check_config(kind, config, set(plain))
        channel_id = channel_model.new_channel_id()
        reservation = self._claim_channel_name(checked_name, channel_id)
        ciphertexts = {
            key: self.vault.encrypt(channel_id, key, value) for key, value in plain.items()
        }
        channel = channel_model.create(
            channel_id=channel_id,
            name=checked_name,
            type=kind,
            config=checked,
            secrets=ciphertexts,
            actor=actor,
        )
        self._save_channel(checked_name, channel_id, channel, reservation)
        return channel

    def get_channel(
        self, channel_id: UUID, *, expected_version: int | None = None
    ) -> NotificationChannel:
        channel = self._load("notification channel", NotificationChannel, channel_id)
        channel.check_not_deleted()
        self._check_version("notification channel", channel, expected_version)
        return channel

    def channel_named(self, name: str) -> NotificationChannel | None:
        """The live channel holding this name, if any."""
        reservation = self._channel_reservation(name)
        if reservation is None or reservation.holder is None:
            return None
        try:
            return self.get_channel(reservation.holder)
        except NotFound:  # deleted since: no channel by that name
            return None

    def list_channels(self) -> list[NotificationChannel]:
        """Every live channel, by name. Channels are few and only administrators list them,
        so this reads their creation events rather than keeping a view of its own."""
        topic = get_topic(NotificationChannel.Created)
        found: list[NotificationChannel] = []
        position = 0
        while True:
            page = self.recorder.select_notifications(
                start=position, limit=500, topics=[topic], inclusive_of_start=False
            )
            for notification in page:
                channel = self.aggregate_or_none(notification.originator_id)
                if isinstance(channel, NotificationChannel) and not channel.deleted:
                    found.append(channel)
            if len(page) < 500:
                break
            position = page[-1].id
        return sorted(found, key=lambda c: normalize(c.name))

    def update_channel(
        self,
        channel_id: UUID,
        changes: Mapping[str, Any],
        *,
        actor: str,
        expected_version: int | None = None,
    ) -> NotificationChannel:
        """Change the name, the config (whole) or some secrets (a null value removes one)."""
        unknown = sorted(set(changes) - set(CHANNEL_FIELDS))
        if unknown:
            raise InvalidInput(unknown[0], "is not a field that can be changed")
        channel = self.get_channel(channel_id, expected_version=expected_version)
        given = changes.get("secrets") or {}
        if not isinstance(given, dict):
            raise InvalidInput("secrets", "must be a JSON object of name -> value or null")
        removed = [key for key, value in given.items() if value is None]
        for key in removed:
            if key not in channel.secrets:
                raise InvalidInput(f"secrets.{key}", "is not set, so cannot be removed")
        stored = channel_config.check_secrets(
            channel.type, {k: v for k, v in given.items() if v is not None}
        )
        secret_names = (set(channel.secrets) - set(removed)) | set(stored)
        config = changes.get("config", channel.config)
        channel.reconfigure(config, actor, secret_names)
        reservations: list[ChannelName | None] = []
        old_name = channel.name
        if "name" in changes:
            channel.rename(changes["name"], actor)
            if normalize(old_name) != normalize(channel.name):
                reservations.append(self._claim_channel_name(channel.name, channel.id))
                reservations.append(self._release_channel_name(old_name, channel.id))
        for key in removed:
            channel.remove_secret(key, actor)
        for key, value in stored.items():
            channel.store_secret(key, self.vault.encrypt(channel.id, key, value), actor)
        self._save_channel(channel.name, channel.id, channel, *reservations)
        return channel

    def delete_channel(
        self, channel_id: UUID, *, actor: str, expected_version: int | None = None
    ) -> NotificationChannel:
        channel = self.get_channel(channel_id, expected_version=expected_version)
        channel.delete(actor)
        self._save(channel, self._release_channel_name(channel.name, channel.id))
        # Crypto-shredding, as for a job: its secrets in the history stay unreadable.
        self.vault.shred(channel_id)
        return channel

    def channel_secrets(self, channel: NotificationChannel) -> dict[str, str]:
        """The channel's secrets in the clear: only a notifier sending through it asks."""
        return {
            key: self.vault.decrypt(channel.id, key, ciphertext)
            for key, ciphertext in channel.secrets.items()
        }

    def request_test_notification(self, channel_id: UUID, *, actor: str, now: datetime) -> Delivery:
        """A test message to the channel, sent by the notifier like any other delivery."""
        channel = self.get_channel(channel_id)
        payload = {
            "event": "test",
            "channel": channel.name,
            "requested_by": actor,
            "requested_at": now.isoformat(),
            "message": f"Test notification from JobLedger to channel {channel.name!r}",
        }
        delivery = delivery_model.request(
            run_id=None,
            job_id=None,
            channel_id=channel.id,
            channel_name=channel.name,
            event="test",
            payload=payload,
            at=now,
        )
        self._save(delivery)
        return delivery
