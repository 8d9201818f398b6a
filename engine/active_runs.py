"""The runs one worker holds, shared by its loop, its claimer, its executions and its reaper.

One lock guards this table and the worker's `RunBoard` together: a claim marks a run taken
on the board and holds it here in one step, so the loop never sees one without the other.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from application.ports import Wakeup
from engine.log_pipeline import RunLogSink
from jobtypes import StopSignal


class StopReason(StrEnum):
    """Why the worker stopped a run early; each is recorded as a different ending."""

    TIMEOUT = "timeout"
    CANCEL = "cancel"
    # The worker's own shutdown: the run is recorded abandoned, and retried if its job says so.
    SHUTDOWN = "shutdown"
    # Another worker's reaper already recorded the run's end: nothing left to record.
    ENDED_ELSEWHERE = "abandoned"
    # The worker could not renew its lease: it stops its runs before anyone may take them.
    FENCED = "fenced"


@dataclass
class Active:
    """A run this worker has claimed (or is claiming) and not yet finished."""

    run_id: UUID
    stop: StopSignal = field(default_factory=StopSignal)
    deadline: datetime | None = None
    sink: RunLogSink | None = None
    claimed: bool = False


class ActiveRuns:
    """The table of held runs, its lock, and whether the worker still takes new runs."""

    def __init__(self, concurrency: int, wakeup: Wakeup) -> None:
        self.concurrency = concurrency
        self.lock = threading.RLock()
        self.accepting = True
        # Set while the worker cannot renew its lease: it holds no new runs until it can.
        self.fenced = False
        self._runs: dict[UUID, Active] = {}
        self._idle = threading.Condition(self.lock)
        self._wakeup = wakeup

    def __contains__(self, run_id: object) -> bool:
        return run_id in self._runs

    def __len__(self) -> int:
        return len(self._runs)

    def __iter__(self) -> Iterator[Active]:
        """The held runs; iterate under `lock`."""
        return iter(list(self._runs.values()))

    def get(self, run_id: UUID) -> Active | None:
        return self._runs.get(run_id)

    def hold(self, run_id: UUID) -> Active:
        """Take a run into the table (under `lock`, with the board marked)."""
        active = self._runs[run_id] = Active(run_id=run_id)
        return active

    def free_slots(self) -> int:
        """How many more runs the worker may hold now (0 once it stops accepting)."""
        if not self.accepting or self.fenced:
            return 0
        return self.concurrency - len(self._runs)

    def ids(self) -> list[UUID]:
        with self.lock:
            return list(self._runs)

    def release(self, run_id: UUID) -> None:
        """The run is over for this worker: free its slot and wake the loop to fill it."""
        with self.lock:
            self._runs.pop(run_id, None)
            self._idle.notify_all()
        self._wakeup.set()

    def stop_all(self, reason: str) -> None:
        with self.lock:
            for active in self._runs.values():
                active.stop.stop(reason)

    def wait_idle(self, timeout: float) -> bool:
        """Block until no run is held; False if `timeout` seconds pass first."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._runs, timeout)
