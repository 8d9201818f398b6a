"""How a long-running command stops: SIGTERM (a service manager) or SIGINT (Ctrl-C) sets
an event that the command's main thread waits on, and the command then stops its parts in
order. One helper for every runtime (serve, scheduler, worker, projections)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def stop_requested(*, also: Callable[[], None] | None = None) -> Iterator[threading.Event]:
    """An event set on SIGTERM or SIGINT while the block runs (then `also` is called, e.g.
    to wake a loop at once); the previous handlers are restored when the block ends.

    The block should cover the command's shutdown too, so that a second Ctrl-C while the
    parts stop is taken as the same request rather than interrupting the shutdown."""
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()
        if also is not None:
            also()

    previous = {signum: signal.signal(signum, on_signal) for signum in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def wait_for(stop: threading.Event) -> None:
    """Block this (main) thread until `stop` is set. It waits in short slices, so that the
    signal handler, which runs between them, is never held up behind one long wait."""
    while not stop.wait(1.0):
        pass
