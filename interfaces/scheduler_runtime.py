"""Running the scheduler: in a background thread of `jobledger serve`, or as the whole of a
`jobledger scheduler` process. Wires the scheduler to the system's clock, its store's
checkpoint table and the right wake-up (in-process saves, and NOTIFY on PostgreSQL)."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from adapters.clock import SystemClock
from adapters.event_store_config import StoreSettings, conninfo, store_env
from adapters.file_modes import private_directory
from adapters.job_types import JobTypeCatalog
from adapters.pg_wakeup import PostgresWakeup
from adapters.scheduler_checkpoint import PostgresSchedulerCheckpoint, SQLiteSchedulerCheckpoint
from application.app import JobLedger
from application.ports import Clock, ThreadWakeup
from domain.errors import SecretUnavailable
from interfaces.bootstrap import System
from interfaces.settings import Settings
from scheduler.firing import FiringRules
from scheduler.scheduler import Scheduler

log = logging.getLogger("jobledger.scheduler")


class _NoSecrets:
    """The scheduler process's vault: it copies jobs into run requests and never needs a
    secret, so it holds no master key at all (least privilege)."""

    def encrypt(self, job_id: UUID, name: str, value: str) -> str:
        raise SecretUnavailable(job_id, name, "the scheduler process holds no keys")

    def decrypt(self, job_id: UUID, name: str, ciphertext: str) -> str:
        raise SecretUnavailable(job_id, name, "the scheduler process holds no keys")

    def shred(self, job_id: UUID) -> None:
        raise SecretUnavailable(job_id, "*", "the scheduler process holds no keys")


def scheduler_app(settings: Settings) -> JobLedger:
    """The app alone, for a `jobledger scheduler` process: no read models (the scheduler
    follows the log itself), no keys, and a small connection pool, since one thread uses
    it. A full `build()` would hold about 30 PostgreSQL connections for nothing."""
    if settings.store.kind == "sqlite":
        # Owner-only, as `build` makes it: it holds the embedded database.
        private_directory(settings.data_dir)
    env = {**store_env(settings.store), "POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "2"}
    return JobLedger(vault=_NoSecrets(), job_types=JobTypeCatalog(), env=env)


@dataclass
class SchedulerHandle:
    """A scheduler running in a thread; `stop()` ends it and releases its connections."""

    scheduler: Scheduler
    thread: threading.Thread | None
    _stop: threading.Event
    _cleanup: list[Callable[[], None]] = field(default_factory=list)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.scheduler.wakeup.set()
        if self.thread is not None:
            self.thread.join(timeout)
        for cleanup in reversed(self._cleanup):
            cleanup()
        self._cleanup.clear()


def build_scheduler(system: System, **options: Any) -> SchedulerHandle:
    """A scheduler on the system's app and store, not yet running (see `start_scheduler`)."""
    return scheduler_for(system.app, system.settings.store, **options)


def scheduler_for(
    app: JobLedger,
    store: StoreSettings,
    *,
    clock: Clock | None = None,
    misfire_grace: timedelta = timedelta(seconds=60),
    checkpoint_name: str = "default",
    **options: Any,
) -> SchedulerHandle:
    """A scheduler on any app of the store: the checkpoint table and wake-up of its kind."""
    checkpoint: SQLiteSchedulerCheckpoint | PostgresSchedulerCheckpoint
    wakeup: ThreadWakeup | PostgresWakeup
    if store.kind == "sqlite":
        assert store.sqlite_path is not None
        checkpoint = SQLiteSchedulerCheckpoint(store.sqlite_path, checkpoint_name)
        wakeup = ThreadWakeup()
    else:
        checkpoint = PostgresSchedulerCheckpoint(conninfo(store), store.schema, checkpoint_name)
        # Its own LISTEN connection: saves by other processes wake this scheduler at once.
        wakeup = PostgresWakeup(conninfo(store), app.recorder.channel_name)  # type: ignore[attr-defined]
    scheduler = Scheduler(
        app,
        clock or SystemClock(),
        checkpoint,
        rules=FiringRules(misfire_grace=misfire_grace),
        wakeup=wakeup,
        **options,
    )

    def on_save(_notification_id: int) -> None:
        wakeup.set()

    # Saves in this process (the API, the CLI, the workers) wake the scheduler at once.
    app.after_save.append(on_save)
    handle = SchedulerHandle(scheduler, None, threading.Event())
    handle._cleanup.append(checkpoint.close)
    if isinstance(wakeup, PostgresWakeup):
        handle._cleanup.append(wakeup.close)
    handle._cleanup.append(lambda: app.after_save.remove(on_save))
    return handle


def start_scheduler(
    system: System, *, clock: Clock | None = None, **options: Any
) -> SchedulerHandle:
    """Run the scheduler in a background thread until `handle.stop()` (`jobledger serve`)."""
    return _in_thread(build_scheduler(system, clock=clock, **options))


def start_scheduler_for(app: JobLedger, store: StoreSettings, **options: Any) -> SchedulerHandle:
    """`start_scheduler` for an app built without the rest of a System."""
    return _in_thread(scheduler_for(app, store, **options))


def _in_thread(handle: SchedulerHandle) -> SchedulerHandle:
    handle.thread = threading.Thread(
        target=handle.scheduler.run, args=(handle._stop,), name="scheduler", daemon=True
    )
    handle.thread.start()
    return handle


def run_scheduler_until_signalled(
    system: System, *, on_started: Callable[[Scheduler], None] | None = None, **options: Any
) -> SchedulerHandle:
    """Run the scheduler in this thread until SIGTERM or SIGINT (Ctrl-C)."""
    return run_until_signalled(system.app, system.settings.store, on_started=on_started, **options)


def run_until_signalled(
    app: JobLedger,
    store: StoreSettings,
    *,
    on_started: Callable[[Scheduler], None] | None = None,
    **options: Any,
) -> SchedulerHandle:
    """`run_scheduler_until_signalled` for an app built without the rest of a System."""
    handle = scheduler_for(app, store, **options)

    def on_signal(_signum: int, _frame: object) -> None:
        handle._stop.set()
        handle.scheduler.wakeup.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        handle.scheduler.start()
        if on_started is not None:
            on_started(handle.scheduler)
        handle.scheduler.run(handle._stop)
    finally:
        handle.stop()
    return handle
