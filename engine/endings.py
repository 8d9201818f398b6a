"""Recording the ends of runs that finish together in one transaction.

Every event store write is a transaction whose commit (an fsync) is taken under the
recorder's table lock, so a worker that wrote each run's last log batch and its final event
separately would be bound by commits, not by work. Runs that end at about the same moment
(trivial runs under load, or a burst) are therefore recorded together: one thread takes
every ending waiting in the queue and saves them, each run's last log entries before its
final event, in one transaction. A run that moved on meanwhile (a cancel request, a reaper)
makes that transaction fail whole; each ending is then recorded on its own, from the store.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from application.run_commands import RunEnding

logger = logging.getLogger("jobledger.worker")

MAX_BATCH = 64


@dataclass
class Pending:
    """One ending waiting in the queue, and the event its pool thread waits on."""

    ending: RunEnding
    done: threading.Event = field(default_factory=threading.Event)


class EndingBatcher:
    """A queue of run endings and the thread that saves them in batches."""

    def __init__(
        self,
        save_batch: Callable[[list[RunEnding]], None],
        save_one: Callable[[RunEnding, bool], None],
    ) -> None:
        """`save_batch` saves endings in one transaction (all or nothing); `save_one(ending,
        fresh)` records one, from the aggregates it holds only if `fresh` (not after a failed
        batch took their pending events)."""
        self._save_batch = save_batch
        self._save_one = save_one
        self._queue: queue.Queue[Pending | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="worker-endings", daemon=True)
        self._thread.start()

    def record(self, ending: RunEnding) -> None:
        """Hand over one ending and wait until it is recorded (or given up on)."""
        pending = Pending(ending)
        self._queue.put(pending)
        pending.done.wait()

    def close(self) -> None:
        """Record what is queued, then end the thread."""
        self._queue.put(None)
        self._thread.join(timeout=60)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stopping = False
            while len(batch) < MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                batch.append(more)
            self._record(batch)
            if stopping:
                return

    def _record(self, batch: list[Pending]) -> None:
        try:
            fresh = True
            if len(batch) > 1:
                try:
                    self._save_batch([p.ending for p in batch])
                    return
                except Exception as error:
                    # Nothing of the batch was saved; record each one from the store.
                    logger.info("a batch of %d run endings fell back: %s", len(batch), error)
                    fresh = False
            for pending in batch:
                try:
                    self._save_one(pending.ending, fresh)
                except Exception:
                    logger.exception("recording the end of run %s failed", pending.ending.run.id)
        finally:
            for pending in batch:
                pending.done.set()
