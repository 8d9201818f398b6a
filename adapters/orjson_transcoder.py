"""Event encoding with orjson, on eventsourcing's transcoder and mapper extension points.

orjson writes UUIDs and datetimes natively (in C) but reads them back as strings, so the
mapper revives those fields from the event class's own type hints. No type tags are stored,
which keeps events small and readable with any JSON tool.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder
from eventsourcing.utils import resolve_topic

_OPTIONS = orjson.OPT_NON_STR_KEYS


class OrjsonTranscoder(Transcoder):
    """Encodes an event's state as JSON bytes with orjson."""

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj, option=_OPTIONS)

    def decode(self, data: bytes) -> Any:
        return orjson.loads(data)


_REVIVERS: dict[type, Callable[[Any], Any]] = {
    UUID: UUID,
    datetime: datetime.fromisoformat,
}


def _reviver_for(hint: Any) -> Callable[[Any], Any] | None:
    if hint in _REVIVERS:
        return _REVIVERS[hint]
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            if arg in _REVIVERS:
                return _REVIVERS[arg]
    return None


@cache
def _revivers(event_class: type) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    hints = typing.get_type_hints(event_class)
    found = []
    for name, hint in hints.items():
        reviver = _reviver_for(hint)
        if reviver is not None and name not in ("originator_id",):
            found.append((name, reviver))
    return tuple(found)


class TypedMapper(Mapper[UUID]):
    """A mapper that turns the strings orjson wrote back into UUIDs and datetimes.

    Replaying history decodes every event, so the common case (no cipher, no compressor, no
    upcasting) takes a short path with the event class resolved once per topic; anything
    else goes through the library's own mapping.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain = self.cipher is None and self.compressor is None

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        event_class = _event_class(stored_event.topic) if self._plain else None
        if event_class is None:
            event = super().to_domain_event(stored_event)
            state = event.__dict__
        else:
            state = self.transcoder.decode(stored_event.state)
            originator_id = stored_event.originator_id
            state["originator_id"] = (
                originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
            )
            state["originator_version"] = stored_event.originator_version
            event = object.__new__(event_class)
            object.__setattr__(event, "__dict__", state)
        for name, revive in _revivers(type(event)):
            value = state.get(name)
            if isinstance(value, str):
                state[name] = revive(value)
        return event


@cache
def _event_class(topic: str) -> type | None:
    """The class for a topic, or None where the library's path is needed (upcasting)."""
    cls = resolve_topic(topic)
    return None if getattr(cls, "class_version", 1) > 1 else cls
