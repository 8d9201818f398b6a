"""Wiring the engine to a built system: which wake-up, which liveness, which executors.

`start_workers` is what `jobledger serve` (everything in one process) and `jobledger worker`
(workers as a process of their own) call. On PostgreSQL the worker wakes on LISTEN/NOTIFY
(its own connection) and proves it is alive with a session advisory lock, so other workers
abandon its runs within seconds of its death; on the embedded SQLite default there is one
process, so the runs still `running` at start are those of a worker that died with it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapters.clock import SystemClock
from adapters.event_store_config import StoreSettings, conninfo
from adapters.pg_wakeup import PostgresWakeup
from adapters.worker_leases import PostgresWorkerLeases
from application.app import JobLedger
from application.ports import Clock, ThreadWakeup, Wakeup
from domain.errors import InvalidInput
from engine.worker import Worker
from interfaces.bootstrap import System
from jobtypes import Executor

DEFAULT_CONCURRENCY = 4
# On SIGTERM, how long running runs may go on before they are stopped and recorded abandoned.
DEFAULT_GRACE_SECONDS = 30.0


def executor_lookup(catalog: Any) -> Callable[[str], Executor]:
    """Job type name -> its executor: the catalog's own lookup (adapters.job_types), which
    builds one executor per type and keeps it, and refuses an unknown type with InvalidInput
    naming `job_type`. Typed `Any`: the application's port does not name executors."""
    lookup: Callable[[str], Executor] = catalog.executor
    return lookup


@dataclass
class WorkerHandle:
    """A started worker: `stop()` ends it cleanly (see `Worker.stop`)."""

    worker: Worker
    _wakeup: Wakeup

    @property
    def worker_id(self) -> str:
        return self.worker.id

    def stop(self, *, grace: float = DEFAULT_GRACE_SECONDS) -> None:
        self.worker.stop(grace=grace)
        close = getattr(self._wakeup, "close", None)
        if close is not None:
            close()


def start_workers(
    system: System,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    clock: Clock | None = None,
    executor_for: Callable[[str], Executor] | None = None,
    worker_id: str | None = None,
    **options: Any,
) -> WorkerHandle:
    """Start one worker (a loop thread, a log-flush thread and `concurrency` run threads)
    on the system's application. Returns once it holds its liveness and knows the queue."""
    return start_worker(
        system.app,
        system.settings.store,
        runs_view=system.view("runs"),
        concurrency=concurrency,
        clock=clock,
        executor_for=executor_for or executor_lookup(system.app.job_types),
        worker_id=worker_id,
        **options,
    )


def start_worker(
    app: JobLedger,
    store: StoreSettings,
    *,
    executor_for: Callable[[str], Executor],
    runs_view: Any = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    clock: Clock | None = None,
    worker_id: str | None = None,
    **options: Any,
) -> WorkerHandle:
    """The same for an application without the rest of a system (no views: the worker
    then finds the unfinished runs by reading the Run events, topic-filtered)."""
    if concurrency < 1:
        raise InvalidInput("concurrency", "must be at least 1")
    wakeup: Wakeup
    liveness = None
    if store.kind == "postgres":
        wakeup = PostgresWakeup(conninfo(store), app.recorder.channel_name)  # type: ignore[attr-defined]
        liveness = PostgresWorkerLeases(conninfo(store), store.schema)
        liveness.create_table()
    else:
        wakeup = ThreadWakeup()
    worker = Worker(
        app,
        executor_for=executor_for,
        clock=clock or SystemClock(),
        wakeup=wakeup,
        worker_id=worker_id,
        concurrency=concurrency,
        leases=liveness,
        runs_view=runs_view,
        abandon_running_at_start=store.kind == "sqlite",
        **options,
    )
    try:
        worker.start()
    except BaseException:
        wakeup_close = getattr(wakeup, "close", None)
        if wakeup_close is not None:
            wakeup_close()
        if liveness is not None:
            liveness.release()
        raise
    return WorkerHandle(worker=worker, _wakeup=wakeup)


def run_until_signalled(
    system: System,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    grace: float = DEFAULT_GRACE_SECONDS,
    announce: Callable[[str], None] = print,
) -> None:
    """`jobledger worker`: run a worker in this process until SIGTERM or SIGINT, then stop
    claiming, let running runs finish for `grace` seconds and stop (and abandon) the rest."""
    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    handle = start_workers(system, concurrency=concurrency)
    announce(
        f"JobLedger worker {handle.worker_id} running up to {concurrency} runs at a time "
        f"on {system.settings.store.describe()}"
    )
    try:
        while not stop.wait(1.0):
            pass
    finally:
        handle.stop(grace=grace)
