"""What /healthz and /metrics say about a running JobLedger: the store, the views, the loops.

A health check must answer within two seconds even while the database hangs, and forty
checks at once must not take forty threads from the pages. So one probe runs at a time on a
thread of its own, every check in that moment shares it, its answer is kept for half a second,
and a probe that does not answer in time counts as "the store is unreachable".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from adapters.store_errors import StoreTrouble, classify
from application.outage import LoopState
from interfaces.bootstrap import System

log = logging.getLogger("jobledger.health")

PROBE_TIMEOUT = 1.5  # seconds; /healthz promises an answer within 2
CACHE_SECONDS = 0.5
# Views behind the store, and not moving for this long, count as stopped.
STALLED_SECONDS = 10.0


@dataclass(frozen=True)
class Health:
    """One health report: healthy or not, and each problem in words."""

    store: str  # "reachable" | "unreachable" | "disk full"
    behind: int | None = None  # events the slowest view has still to process
    problems: list[str] = field(default_factory=list)
    loops: list[LoopState] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Probe:
    at: float
    top: int | None
    positions: dict[str, int] | None
    error: BaseException | None


class HealthCheck:
    """Probes the store for a System; thread-safe; see the module docstring."""

    def __init__(
        self,
        system: System,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        timeout: float = PROBE_TIMEOUT,
    ) -> None:
        self._system = system
        self._monotonic = monotonic
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="health-probe")
        self._lock = threading.Lock()
        self._pending: Future[Probe] | None = None
        self._pending_since = 0.0
        self._last: Probe | None = None
        # When the views were last seen to move (or to be level with the store).
        self._moved_at = monotonic()
        self._last_positions: dict[str, int] | None = None

    def probe_future(self) -> tuple[Future[Probe] | Probe, float]:
        """A fresh cached answer, or the one probe in flight (started if none is), with how
        long a caller may still wait for it: a probe already hanging for the whole timeout
        is "no answer" at once, so checks never queue up behind it."""
        with self._lock:
            now = self._monotonic()
            if self._last is not None and now - self._last.at < CACHE_SECONDS:
                return self._last, 0.0
            if self._pending is None or self._pending.done():
                self._pending = self._pool.submit(self._probe)
                self._pending_since = now
            return self._pending, max(0.0, self.timeout - (now - self._pending_since))

    def check(self) -> Health:
        """Wait (at most the timeout) for a probe and judge it; for synchronous callers."""
        answer, budget = self.probe_future()
        if isinstance(answer, Future):
            try:
                answer = answer.result(budget)
            except FutureTimeout:
                return self.judge(None)
        return self.judge(answer)

    def judge(self, probe: Probe | None) -> Health:
        """Turn a probe (None: it did not answer in time) and the loops into a report."""
        loops = self._system.loop_states()
        # Causes by kind only (the error's class): /healthz answers anyone, and an error's
        # text may name hosts and users; the logs have the whole of it.
        problems = [
            f"{state.name}: failing for {state.failing_for:.0f} s ({kind_of(state.cause)})"
            if state.cause != "stopped"
            else f"{state.name}: stopped"
            for state in loops
            if not state.healthy
        ]
        trouble = self._system.backend.disk_trouble()
        if trouble:
            problems.insert(0, trouble)
        if probe is None:
            problems.insert(0, f"store: no answer within {self.timeout:g} s")
            return Health("unreachable", None, problems, loops)
        if probe.error is not None:
            kind = classify(probe.error)
            store = "disk full" if kind is StoreTrouble.DISK_FULL else "unreachable"
            problems.insert(0, f"store: {store} ({type(probe.error).__name__})")
            return Health(store, None, problems, loops)
        behind = self._behind(probe)
        if behind:
            stalled = self._monotonic() - self._moved_at
            if stalled >= STALLED_SECONDS:
                problems.append(
                    f"projections: behind by {behind} events and not moving for {stalled:.0f} s"
                )
        return Health("disk full" if trouble else "reachable", behind, problems, loops)

    def _behind(self, probe: Probe) -> int | None:
        if probe.top is None or probe.positions is None:
            return None
        behind = max(0, probe.top - min(probe.positions.values(), default=probe.top))
        with self._lock:
            if behind == 0 or probe.positions != self._last_positions:
                self._moved_at = probe.at
            self._last_positions = probe.positions
        return behind

    def _probe(self) -> Probe:
        started = self._monotonic()
        try:
            top = self._system.app.recorder.max_notification_id() or 0
            positions = self._system.follower.positions()
        except Exception as error:  # the answer is the error itself
            probe = Probe(started, None, None, error)
        else:
            probe = Probe(started, top, positions, None)
        with self._lock:
            self._last = probe
        return probe

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def kind_of(cause: str) -> str:
    """The error class at the head of a loop's cause ("OperationalError: ..." -> its name)."""
    return cause.split(":", 1)[0]
