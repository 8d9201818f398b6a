"""Keeping this worker's lease, and stopping its runs before the lease can run out.

A worker renews its lease several times per lease period. Other workers take its runs only
once the lease has expired by a grace period; so a run is never executed twice as long as
this worker stops its own runs before the lease expires whenever it cannot renew (a network
partition, the database away). That is self-fencing: after `fence_after` seconds without a
successful renewal the keeper stops every held run (recorded abandoned, and retried if the
job says so) and the worker claims nothing until a renewal succeeds again. A worker that
reconnects before then keeps its runs: a database restart costs nothing.

Time here is the keeper's own monotonic clock, measured from the *start* of the last renewal
that succeeded: the database set the new expiry after that instant, so the local deadline
always falls before the expiry others see.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from application.outage import LoopState, Outage
from engine.ports import WorkerLeases

logger = logging.getLogger("jobledger.worker")

# Renew this many times per lease period, so one or two lost renewals change nothing.
RENEWALS_PER_LEASE = 6
# Fence once this share of the lease has passed without a renewal.
FENCE_AT = 0.75


class LeaseKeeper:
    """Renews the lease on a thread of its own; tells the worker when it must fence itself."""

    def __init__(
        self,
        leases: WorkerLeases,
        *,
        worker_id: str,
        lease: timedelta,
        on_fence: Callable[[], None],
        on_resume: Callable[[], None],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._leases = leases
        self._worker_id = worker_id
        self._on_fence = on_fence
        self._on_resume = on_resume
        self._monotonic = monotonic
        seconds = lease.total_seconds()
        self.renew_every = seconds / RENEWALS_PER_LEASE
        self.fence_after = seconds * FENCE_AT
        self._last_renewed = monotonic()
        self._fenced = False
        self._lock = threading.Lock()  # the two threads both fence and unfence
        self._outage = Outage(f"worker {worker_id} lease", logger)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def fenced(self) -> bool:
        """True from the moment the runs were stopped until a renewal succeeds again."""
        return self._fenced

    def state(self) -> LoopState:
        return self._outage.state()

    def start(self) -> None:
        # Two threads: a renewal may hang for seconds on a partitioned network, and the
        # fence must still come on time, so a second thread only watches the clock.
        for target, name in ((self._renew_loop, "lease"), (self._watch_loop, "fence")):
            thread = threading.Thread(target=target, name=f"worker-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()

    def renew_once(self) -> None:
        """One renewal attempt, then the fence check (the thread's loop body; tests call it)."""
        started = self._monotonic()
        try:
            self._leases.renew()
        except Exception as error:
            self._outage.failed(error)
        else:
            self._outage.succeeded()
            with self._lock:
                self._last_renewed = started
                unfenced, self._fenced = self._fenced, False
            if unfenced:
                logger.warning("worker %s: lease renewed; taking runs again", self._worker_id)
                self._on_resume()
        self.check_fence()

    def check_fence(self) -> None:
        """Fence if the lease went unrenewed for too long."""
        with self._lock:
            silent_for = self._monotonic() - self._last_renewed
            if self._fenced or silent_for < self.fence_after:
                return
            self._fenced = True
        logger.error(
            "worker %s: could not renew its lease for %.0f s (the store is unreachable); "
            "stopping its runs before another worker may take them",
            self._worker_id,
            silent_for,
        )
        self._on_fence()

    def seconds_until_fence(self) -> float:
        return max(0.0, self.fence_after - (self._monotonic() - self._last_renewed))

    def _renew_loop(self) -> None:
        while not self._stop.is_set():
            self.renew_once()
            self._stop.wait(self.renew_every)

    def _watch_loop(self) -> None:
        while not self._stop.is_set():
            self.check_fence()
            self._stop.wait(max(0.05, min(self.renew_every, self.seconds_until_fence())))
