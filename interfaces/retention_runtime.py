"""Running the retention sweep: every `JOBLEDGER_RETENTION_INTERVAL_SECONDS` in a thread
of the scheduler process (`jobledger serve` or `jobledger scheduler`), and once on demand
(`jobledger retention run`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from adapters.clock import SystemClock
from adapters.log_archive import FileLogArchive
from adapters.store_backend import StoreBackend
from application.app import JobLedger
from application.outage import LoopState, Outage
from application.ports import Clock, RetentionStore
from application.retention import RetentionSweep, SweepReport
from interfaces.retention_settings import RetentionSettings

log = logging.getLogger("jobledger.retention")


def retention_sweep(
    app: JobLedger,
    backend: StoreBackend,
    settings: RetentionSettings,
    *,
    clock: Clock | None = None,
    store: RetentionStore | None = None,
) -> RetentionSweep:
    """A sweep over `app`'s store with the global defaults of `settings`."""
    archive = None if settings.archive_dir is None else FileLogArchive(settings.archive_dir)
    return RetentionSweep(
        app,
        store or backend.retention_store(app.recorder),
        clock or SystemClock(),
        settings.defaults,
        archive,
    )


@dataclass
class RetentionHandle:
    """A sweep running in a thread every `interval` seconds; `stop()` ends it."""

    sweep: RetentionSweep
    thread: threading.Thread
    outage: Outage
    stop_event: threading.Event
    last: SweepReport | None = None

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop after the sweep in progress, if any (waiting up to `timeout` seconds)."""
        self.stop_event.set()
        self.thread.join(timeout)
        self.sweep.store.close()

    def state(self) -> LoopState:
        return self.outage.state()


def start_retention(
    app: JobLedger,
    backend: StoreBackend,
    settings: RetentionSettings,
    *,
    clock: Clock | None = None,
    on_sweep: Callable[[SweepReport], None] | None = None,
) -> RetentionHandle | None:
    """Sweep now and then every `settings.interval_seconds` in a background thread; None
    (no thread) when the interval is 0, which turns the periodic sweep off. `on_sweep` is
    called with each sweep's report (tests wait on it)."""
    if not settings.interval_seconds:
        return None
    sweep = retention_sweep(app, backend, settings, clock=clock)
    outage = Outage("retention", log)
    stop = threading.Event()

    def loop() -> None:
        wait = 0.0
        while not stop.wait(wait):
            try:
                handle.last = report = sweep.run()
            except Exception as error:  # noqa: BLE001 - a store outage: retried, reported
                wait = outage.failed(error)
                continue
            outage.succeeded()
            if on_sweep is not None:
                on_sweep(report)
            wait = settings.interval_seconds

    thread = threading.Thread(target=loop, name="retention", daemon=True)
    handle = RetentionHandle(sweep, thread, outage, stop)
    thread.start()
    return handle
