"""Which job types can run, and what becomes of a run that no live worker can run.

Each worker probes its job types at start (`jobtypes.ChecksRequirements`) and records what it
found (`WorkerCapabilities`). A worker claims only runs of the types it can run; a run of a
type that no live worker can run therefore stays queued, with the reason the workers gave
(`summarize`), until a capable worker appears, or until it has waited the job's timeout
(else `DEFAULT_UNRUNNABLE_WAIT`): then a worker that cannot run it either records it failed
with that reason (`UnrunnableRuns`), rather than let it wait for ever.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.app import JobLedger
from application.outage import Outage
from domain.errors import Conflict, NotFound
from engine.active_runs import ActiveRuns
from engine.board import BoardRun, RunBoard
from engine.ports import Capability, WorkerCapabilities
from jobtypes import Availability

logger = logging.getLogger("jobledger.worker")

# How long a run of a type no live worker can run waits queued before it fails, when its job
# has no timeout (JOBLEDGER_UNRUNNABLE_WAIT_SECONDS): long enough to install or restart a
# worker, short enough that nobody finds a day of silently queued runs.
DEFAULT_UNRUNNABLE_WAIT = timedelta(hours=1)
NO_WORKER = "no worker is running"


@dataclass(frozen=True)
class TypeAvailability:
    """Whether any live worker can run a job type; if none, why (for people)."""

    available: bool
    reason: str | None = None
    workers: int = 0  # live workers that can run it


def summarize(job_types: Iterable[str], live: Iterable[Capability]) -> dict[str, TypeAvailability]:
    """Each job type's availability across the live workers' records."""
    rows = list(live)
    workers = {row.worker_id for row in rows}
    summary: dict[str, TypeAvailability] = {}
    for name in job_types:
        of_type = [row for row in rows if row.job_type == name]
        able = {row.worker_id for row in of_type if row.available}
        if able:
            summary[name] = TypeAvailability(True, workers=len(able))
            continue
        if not workers:
            reason = NO_WORKER
        elif not of_type:
            reason = f"no worker has the {name} job type installed"
        else:
            # The same reason from ten workers is said once, in the order first given.
            reasons = dict.fromkeys(row.reason or "unavailable" for row in of_type)
            reason = f"no worker can run {name} jobs: {'; '.join(reasons)}"
        summary[name] = TypeAvailability(False, reason)
    return summary


def own_records(worker_id: str, capabilities: Mapping[str, Availability]) -> list[Capability]:
    """One worker's probe results as records (where no store keeps them, as in unit tests)."""
    return [
        Capability(worker_id, name, found.available, found.reason, found.detail)
        for name, found in capabilities.items()
    ]


def can_run(capabilities: Mapping[str, Availability] | None) -> Callable[[str], bool]:
    """Whether this worker may claim a run of a type: None (nothing probed) claims all; else
    only the types it found available (a type it does not know is not one of them)."""
    if capabilities is None:
        return lambda _job_type: True
    runnable = frozenset(name for name, found in capabilities.items() if found.available)
    return runnable.__contains__


def waited_since(run: BoardRun) -> datetime:
    """When a queued run began to wait: its request, or its not-before time if later."""
    if run.scheduled_for is not None and run.scheduled_for > run.requested_at:
        return run.scheduled_for
    return run.requested_at


class UnrunnableRuns:
    """Fails the queued runs this worker cannot run, once no live worker can run them and
    they have waited long enough. Any worker may do it: the failure is appended at the
    run's next version, so a capable worker's claim and a give-up race safely."""

    def __init__(
        self,
        app: JobLedger,
        *,
        worker_id: str,
        board: RunBoard,
        active: ActiveRuns,
        capabilities: Mapping[str, Availability] | None,
        records: WorkerCapabilities | None,
        wait: timedelta = DEFAULT_UNRUNNABLE_WAIT,
    ) -> None:
        self._app = app
        self._worker_id = worker_id
        self._board = board
        self._active = active
        self._runnable = can_run(capabilities)
        self._capabilities = capabilities or {}
        self._records = records
        self.wait = wait
        self._outage = Outage(f"worker {worker_id} capabilities", logger)

    def limit(self, run: BoardRun) -> timedelta:
        """How long `run` may wait: its job's timeout, else the configured wait."""
        if run.timeout_seconds:
            return timedelta(seconds=run.timeout_seconds)
        return self.wait

    def _live(self) -> list[Capability]:
        if self._records is None:  # no store of records (unit tests): this worker is alone
            return own_records(self._worker_id, self._capabilities)
        return self._records.live()

    def give_up(self, now: datetime) -> int:
        """Fail the due runs no live worker can run; returns how many."""
        with self._active.lock:
            due = [
                run
                for run in self._board.queued()
                if not self._runnable(run.job_type) and now >= waited_since(run) + self.limit(run)
            ]
        if not due:
            return 0
        try:
            summary = summarize({run.job_type for run in due}, self._live())
        except Exception as error:
            # We cannot tell whether a capable worker is alive: fail nothing until we can.
            self._outage.failed(error)
            return 0
        self._outage.succeeded()
        failed = 0
        for run in due:
            found = summary[run.job_type]
            if found.available:
                continue  # a capable worker is alive: it will claim the run
            waited = int((now - waited_since(run)).total_seconds())
            reason = f"{found.reason} (gave up after {waited} s queued)"
            try:
                self._app.give_up_run(run.id, reason=reason)
            except (Conflict, NotFound):
                continue  # claimed, cancelled or given up by another worker meanwhile
            logger.warning("worker %s: run %s failed: %s", self._worker_id, run.id, reason)
            failed += 1
        return failed
