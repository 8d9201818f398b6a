"""Running the scheduler: in a background thread of `jobledger serve`, or as the whole of a
`jobledger scheduler` process. Wires the scheduler to the system's clock, its store's
checkpoint table and the store's wake-up (in-process saves, and NOTIFY on PostgreSQL)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from adapters.clock import SystemClock
from adapters.job_types import EntryPointJobTypeCatalog
from adapters.store_backend import StoreBackend
from application.app import JobLedger
from application.ports import Clock
from domain.errors import SecretUnavailable
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


def scheduler_app(settings: Settings, backend: StoreBackend) -> JobLedger:
    """The app alone, for a `jobledger scheduler` process: no read models (the scheduler
    follows the log itself), no keys, and a small connection pool, since one thread uses
    it. A full `build()` would hold about 30 PostgreSQL connections for nothing."""
    backend.prepare_data_dir(settings.data_dir)
    env = backend.event_store_env(pool_size=2, max_overflow=2)
    return JobLedger(vault=_NoSecrets(), job_types=EntryPointJobTypeCatalog(), env=env)


@dataclass
class SchedulerHandle:
    """A scheduler running in a thread; `stop()` ends it and releases its connections."""

    scheduler: Scheduler
    thread: threading.Thread | None
    _stop: threading.Event
    _cleanup: list[Callable[[], None]] = field(default_factory=list)

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop the loop, wait up to `timeout` seconds (None: as long as it takes) for its
        batch in progress, and release the checkpoint's and wake-up's connections."""
        self._stop.set()
        self.scheduler.wakeup.set()
        if self.thread is not None:
            self.thread.join(timeout)
        for cleanup in reversed(self._cleanup):
            cleanup()
        self._cleanup.clear()


def start_scheduler(
    app: JobLedger,
    backend: StoreBackend,
    *,
    clock: Clock | None = None,
    misfire_grace: timedelta = timedelta(seconds=60),
    checkpoint_name: str = "default",
    start_up_first: bool = False,
    **options: Any,
) -> SchedulerHandle:
    """Run a scheduler on `app` in a background thread until `handle.stop()`, with the
    checkpoint table and the wake-up of the app's store.

    With `start_up_first`, the scheduler reads the events and plans the jobs in the caller's
    thread before its loop starts (`jobledger scheduler`: a store it cannot read is an error
    at once, and the start-up message can count the jobs); otherwise its loop does that,
    retrying, as the loop does everything (`jobledger serve`)."""
    checkpoint = backend.scheduler_checkpoint(checkpoint_name)
    wakeup = backend.wakeup(app.recorder)
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
    close_wakeup = getattr(wakeup, "close", None)  # a LISTEN connection of its own
    if close_wakeup is not None:
        handle._cleanup.append(close_wakeup)
    handle._cleanup.append(lambda: app.after_save.remove(on_save))
    if start_up_first:
        try:
            scheduler.start()
        except BaseException:
            handle.stop()
            raise
    handle.thread = threading.Thread(
        target=scheduler.run, args=(handle._stop,), name="scheduler", daemon=True
    )
    handle.thread.start()
    return handle
