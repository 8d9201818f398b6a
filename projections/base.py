"""What every JobLedger projection shares: it handles events in batches.

A projection is an `eventsourcing.projection.Projection` whose view is a `TrackingRecorder`
that writes its rows and its tracking position in one transaction. Handling one event per
transaction caps a rebuild at the commit rate of the database, so ours fold a batch of
events into one change set (a run requested, started and finished in the same batch becomes
one row written once) and the view writes that change set with the batch's last position.
"""

from __future__ import annotations

import base64
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from domain.errors import InvalidInput


@dataclass(frozen=True)
class BatchTracking(Tracking):
    """A batch's position, with the position the batch starts after.

    Views record it by compare-and-set: the tracking row moves from `previous` to
    `notification_id` or the whole batch is refused. So two followers of the same view (two
    projection processes, or a command-line catch-up beside `serve`) can never both apply
    an overlapping batch, even one that starts from an older position.
    """

    previous: int = 0


class BatchView(TrackingRecorder, ABC):
    """A view that applies a projection's change set and its tracking in one transaction."""

    @abstractmethod
    def apply(self, changes: Any, tracking: Tracking) -> None:
        """Write `changes` (the projection's own change-set type) and record `tracking`."""

    @abstractmethod
    def drop(self) -> None:
        """Drop this view's tables and its tracking row, for a rebuild from zero."""


TView = TypeVar("TView", bound=BatchView)


class BatchProjection(Projection[TView], Generic[TView]):
    """A projection that folds a batch of events into one change set."""

    # Event classes this projection reads; the follower skips the rest without decoding.
    event_classes: tuple[type, ...] = ()

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:  # type: ignore[override]
        self.process_batch([domain_event], tracking)

    def process_batch(self, events: Sequence[Any], tracking: Tracking) -> None:
        """Fold `events` (in notification order) and write them with `tracking`, atomically."""
        changes = self.new_changes()
        for event in events:
            self.fold(changes, event)
        self.view.apply(changes, tracking)

    @abstractmethod
    def new_changes(self) -> Any:
        """An empty change set."""

    @abstractmethod
    def fold(self, changes: Any, event: Any) -> None:
        """Add one event's effect to the change set (ignore events of no interest)."""


# Keyset pagination. A cursor is the sort key of the last row of a page, as base64url JSON:
# opaque to callers, stable across both stores, and needing no server-side state. Each view
# revives the key's values to their types (UUID, datetime) itself.

MAX_PAGE_SIZE = 1000


def encode_cursor(*key: Any) -> str:
    """The cursor for the page after the row whose sort key is `key`."""
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    """The sort key in `cursor`, as JSON values; InvalidInput if it is not one of ours."""
    try:
        key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, list) or len(key) != size:
        raise InvalidInput("cursor", "is not a cursor this service issued")
    return key


def page_size(limit: int, maximum: int = MAX_PAGE_SIZE) -> int:
    """`limit` checked: at least 1, at most `maximum` (larger asks get `maximum`)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInput("limit", "must be a positive integer")
    return min(limit, maximum)


MAX_OFFSET = 1_000_000


def check_offset(offset: int) -> int:
    """How many rows a numbered page skips: 0 or more (a page past the end is empty)."""
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput("page", "is not a page number of this list")
    return offset
