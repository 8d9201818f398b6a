"""Running the notifier: in a background thread of `jobledger serve`, or as the whole of a
`jobledger notifier` process. Wires it to the store's position table and wake-up, the
system clock and a sender per channel type."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adapters.clock import SystemClock
from adapters.senders import default_senders
from adapters.store_backend import StoreBackend
from application.app import JobLedger
from application.notification_commands import NotifySettings
from application.ports import Clock
from notifier.notifier import Notifier, summary
from notifier.ports import Sender


@dataclass
class NotifierHandle:
    """A notifier running in a thread; `stop()` ends it and releases its connections."""

    notifier: Notifier
    thread: threading.Thread
    _stop: threading.Event
    _cleanup: list[Callable[[], None]] = field(default_factory=list)

    def stop(self, timeout: float | None = 15.0) -> None:
        self._stop.set()
        self.notifier.wakeup.set()
        self.thread.join(timeout)
        for cleanup in reversed(self._cleanup):
            cleanup()
        self._cleanup.clear()


def start_notifier(
    app: JobLedger,
    backend: StoreBackend,
    settings: NotifySettings,
    *,
    clock: Clock | None = None,
    senders: dict[str, Sender] | None = None,
    name: str = "default",
    views: Any = None,
    **options: Any,
) -> NotifierHandle:
    """Run a notifier on `app` in a background thread until `handle.stop()`. With the
    system's read models (`views`, a built System), it also notices scheduled jobs that did
    not run, and watches runs already running for `long_running`."""
    position = backend.notifier_position(name)
    deliveries = backend.notifier_deliveries(name)
    wakeup = backend.wakeup(app.recorder)
    notifier = Notifier(
        app,
        clock or SystemClock(),
        position,
        senders if senders is not None else default_senders(),
        settings,
        wakeup,
        jobs=views.jobs if views is not None else None,
        running=views.runs if views is not None else None,
        deliveries=deliveries,
        **options,
    )

    def on_save(_notification_id: int) -> None:
        wakeup.set()

    # Saves in this process (a run ending, a test message requested) wake it at once.
    app.after_save.append(on_save)
    stop = threading.Event()
    thread = threading.Thread(target=notifier.run, args=(stop,), name="notifier", daemon=True)
    handle = NotifierHandle(notifier, thread, stop)
    handle._cleanup.append(lambda: app.after_save.remove(on_save))
    handle._cleanup.append(position.close)
    handle._cleanup.append(deliveries.close)
    report = getattr(views, "report_notifier", None)
    if report is not None:  # a System: /metrics shows this notifier's figures
        handle._cleanup.append(report(lambda: summary(notifier)))
    close_wakeup = getattr(wakeup, "close", None)
    if close_wakeup is not None:
        handle._cleanup.append(close_wakeup)
    thread.start()
    return handle
