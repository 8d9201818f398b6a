"""Follows the event store's notification log and feeds the projections, batch by batch.

The same loop serves both stores. eventsourcing's SQLite recorder has no subscription, so
the follower reads pages of notifications itself and, when it has caught up, waits on a
wake-up: set in-process by the application after each save, by PostgreSQL's LISTEN/NOTIFY
across processes, and otherwise by a short poll.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, Mapper
from eventsourcing.utils import get_topic

from application.ports import ThreadWakeup, Wakeup
from projections.base import BatchProjection, BatchTracking


class EventFollower:
    """Reads notifications in order and hands each projection the events it reads."""

    def __init__(
        self,
        recorder: ApplicationRecorder,
        mapper: Mapper[Any],
        projections: Sequence[BatchProjection[Any]],
        *,
        batch_size: int = 2000,
        wakeup: Wakeup | None = None,
        poll_interval: float = 0.25,
    ) -> None:
        self.recorder = recorder
        self.mapper = mapper
        self.projections = list(projections)
        self.batch_size = batch_size
        self.wakeup = wakeup or ThreadWakeup()
        self.poll_interval = poll_interval
        self._topics = {
            p.name: frozenset(get_topic(cls) for cls in p.event_classes) for p in self.projections
        }
        self._wanted = frozenset().union(*self._topics.values())
        self._positions: dict[str, int] = {}
        self._progress = threading.Condition()

    def positions(self) -> dict[str, int]:
        """Each projection's tracking position, as recorded in its own view."""
        return {p.name: p.view.max_tracking_id(p.name) or 0 for p in self.projections}

    def catch_up(self) -> int:
        """Process every event stored so far. Returns how many notifications were read."""
        if not self._positions:
            self._positions = self.positions()
        read = 0
        # While one page is written to the views (mostly waiting on the database, with the
        # GIL released), the next is read and decoded in a second thread.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="follower-read") as reader:
            start = min(self._positions.values(), default=0)
            ahead = reader.submit(self._read, start)
            while True:
                page, decoded = ahead.result()
                if not page:
                    return read
                last_id = page[-1].id
                ahead = reader.submit(self._read, last_id)
                self._process_page(last_id, decoded)
                read += len(page)
                start = min(self._positions.values(), default=0)
                if start != last_id:
                    # A view fell behind (another follower moved it): read from there.
                    ahead.result()
                    ahead = reader.submit(self._read, start)

    def _read(self, start: int) -> tuple[Sequence[Any], list[tuple[int, str, Any]]]:
        page = self.recorder.select_notifications(
            start=start, limit=self.batch_size, inclusive_of_start=False
        )
        decoded = [
            (n.id, n.topic, self.mapper.to_domain_event(n)) for n in page if n.topic in self._wanted
        ]
        return page, decoded

    def reset(self) -> None:
        """Forget the cached positions (after views were dropped for a rebuild)."""
        self._positions = {}

    def _process_page(self, last_id: int, decoded: list[tuple[int, str, Any]]) -> None:
        for projection in self.projections:
            position = self._positions[projection.name]
            if position >= last_id:
                continue
            topics = self._topics[projection.name]
            events = [e for nid, topic, e in decoded if nid > position and topic in topics]
            try:
                projection.process_batch(
                    events, BatchTracking(projection.name, last_id, previous=position)
                )
            except IntegrityError:
                # Another follower (a second projection process, or a command-line catch-up)
                # moved this view's position first, so the compare-and-set refused our
                # batch and rolled it back whole: re-read the position and go on from there.
                self._positions[projection.name] = (
                    projection.view.max_tracking_id(projection.name) or 0
                )
                continue
            self._positions[projection.name] = last_id
        with self._progress:
            self._progress.notify_all()

    def run(
        self,
        stop: threading.Event,
        *,
        failed: Callable[[Exception], float] | None = None,
        succeeded: Callable[[], None] | None = None,
    ) -> None:
        """Catch up, then wait for more, until `stop` is set.

        A pass that fails (the store restarted, its disk full) is reported to `failed`,
        which says how long to wait before the next try; the cached positions are dropped,
        since a batch may or may not have committed, and read again from the views. Without
        `failed` the error propagates (a one-shot caller wants to see it).
        """
        while not stop.is_set():
            try:
                read = self.catch_up()
            except Exception as error:
                if failed is None:
                    raise
                self.reset()
                stop.wait(failed(error))
                continue
            if succeeded is not None:
                succeeded()
            if read == 0:
                self.wakeup.wait(self.poll_interval)

    def wait_until(self, notification_id: int, timeout: float = 10.0) -> bool:
        """Block until every projection has processed `notification_id` (for tests and CLI)."""

        def caught_up() -> bool:
            return all(p >= notification_id for p in self._positions.values()) and bool(
                self._positions
            )

        with self._progress:
            return self._progress.wait_for(caught_up, timeout)
