"""What the parts of a worker share: its settings, its board of runs, the runs it holds.

`Worker` (engine.worker) is put together from parts, one module each: claiming
(worker_claims), executing one run and recording its end (worker_execution), abandoning the
runs of dead workers (worker_reaper), and the loop and its lifecycle (worker). This module
holds the state they all read and write, under `_lock`, and the small helpers they share.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.utils import get_topic

from application.app import JobLedger
from application.ports import Clock, Wakeup
from application.run_commands import RunEnding
from domain.job import Job
from engine.board import BOARD_EVENTS, RunBoard
from engine.log_pipeline import RunLogSink
from engine.worker_endings import EndingBatcher
from jobtypes import Executor, StopSignal

STARTUP_ABANDON_REASON = "worker stopped; found at start-up"
# The stop reason the worker uses for its own shutdown (besides "timeout" and "cancel"):
# the run is recorded abandoned and retried if its job says so.
SHUTDOWN = "shutdown"
JOB_CACHE_SIZE = 1024
RECORD_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 10.0)


class Liveness(Protocol):
    """How workers tell a dead worker from a live one (PostgreSQL: session advisory locks)."""

    def hold(self, worker_id: str) -> None:
        """Announce this worker alive until `release` (or until its process dies)."""
        ...

    def is_gone(self, worker_id: str) -> bool:
        """Whether the worker with this id no longer holds its liveness."""
        ...

    def check(self) -> None:
        """Make sure we still hold our own liveness (take it again after a lost session)."""
        ...

    def release(self) -> None: ...


def new_worker_id() -> str:
    """Unique per process start: a restarted worker never inherits a dead one's runs."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Active:
    """A run this worker has claimed (or is claiming) and not yet finished."""

    run_id: UUID
    stop: StopSignal = field(default_factory=StopSignal)
    deadline: datetime | None = None
    sink: RunLogSink | None = None
    claimed: bool = False


class WorkerState:
    """The state of one worker, shared by its parts; see the module docstring."""

    def __init__(
        self,
        app: JobLedger,
        *,
        executor_for: Callable[[str], Executor],
        clock: Clock,
        wakeup: Wakeup,
        worker_id: str | None = None,
        concurrency: int = 4,
        liveness: Liveness | None = None,
        runs_view: Any = None,
        abandon_running_at_start: bool = False,
        poll_interval: float = 5.0,
        reap_interval: float = 3.0,
        page_size: int = 1000,
        log_batch: dict[str, Any] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.app = app
        self.executor_for = executor_for
        self.clock = clock
        self.wakeup = wakeup
        self.id = worker_id or new_worker_id()
        self.concurrency = concurrency
        self.liveness = liveness
        self.runs_view = runs_view
        self.abandon_running_at_start = abandon_running_at_start
        self.poll_interval = poll_interval
        self.reap_interval = reap_interval
        self.page_size = page_size
        self.log_batch = log_batch or {}
        self.board = RunBoard()
        self.position = 0
        self._topics = [get_topic(cls) for cls in BOARD_EVENTS]
        self._active: dict[UUID, Active] = {}
        self._lock = threading.RLock()
        self._jobs: OrderedDict[tuple[UUID, int], Job] = OrderedDict()
        self._jobs_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="run")
        self._accepting = True
        self._started = False
        self._next_reap: datetime | None = None
        self._random = random.Random(self.id)
        self._idle = threading.Condition(self._lock)
        self._stop_loop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.claimed = 0
        self.lost_claims = 0
        # Waits between tries to record a run's end while the store is unreachable (about
        # half a minute in all); tests shorten them.
        self.record_retry_delays: tuple[float, ...] = RECORD_RETRY_DELAYS
        self._endings = EndingBatcher(self._save_endings, self._save_ending)

    def _job(self, job_id: UUID, version: int) -> Job:
        """A job at a version: immutable, so cached."""
        key = (job_id, version)
        with self._jobs_lock:
            job = self._jobs.get(key)
            if job is not None:
                self._jobs.move_to_end(key)
                return job
        job = self.app.job_at(job_id, version=version)
        with self._jobs_lock:
            self._jobs[key] = job
            while len(self._jobs) > JOB_CACHE_SIZE:
                self._jobs.popitem(last=False)
        return job

    def _release(self, run_id: UUID) -> None:
        with self._lock:
            self._active.pop(run_id, None)
            self._idle.notify_all()
        self.wakeup.set()

    # Defined by engine.worker_execution; named here because `__init__` hands them to
    # the ending batcher.

    def _save_endings(self, endings: list[RunEnding]) -> None:
        raise NotImplementedError

    def _save_ending(self, ending: RunEnding, fresh: bool) -> None:
        raise NotImplementedError
