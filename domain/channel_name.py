"""A notification channel's name reservation: one stream per normalized name, as for jobs
(`domain.job_name`), so the event store itself keeps channel names unique."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.job_name import normalize

CHANNEL_NAME_NAMESPACE = uuid5(NAMESPACE_URL, "https://jobledger.dev/ns/channel-name")


def channel_name_id(name: str) -> UUID:
    return uuid5(CHANNEL_NAME_NAMESPACE, normalize(name))


class ChannelName(Aggregate):
    """Who holds a channel name: a channel's id, or None once it released it."""

    class Reserved(Aggregate.Created):
        name: str
        channel_id: UUID

    class Taken(Aggregate.Event):
        name: str
        channel_id: UUID

        def apply(self, reservation: ChannelName) -> None:
            reservation.holder = self.channel_id

    class Released(Aggregate.Event):
        channel_id: UUID

        def apply(self, reservation: ChannelName) -> None:
            reservation.holder = None

    def __init__(self, *, name: str, channel_id: UUID) -> None:
        self.holder: UUID | None = channel_id

    def take(self, name: str, channel_id: UUID) -> None:
        if self.holder is None:
            self.trigger_event(self.Taken, name=name, channel_id=channel_id)

    def release(self, channel_id: UUID) -> None:
        if self.holder == channel_id:
            self.trigger_event(self.Released, channel_id=channel_id)


def reserve(name: str, channel_id: UUID) -> ChannelName:
    return ChannelName._create(
        ChannelName.Reserved, id=channel_name_id(name), name=name, channel_id=channel_id
    )
