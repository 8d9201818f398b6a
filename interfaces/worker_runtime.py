"""Wiring the engine to an application on a store: which wake-up, which leases, which
executors.

`start_worker` is what `jobledger serve` (everything in one process) and `jobledger worker`
(workers as a process of their own) call, and tests and benchmarks too. The store's backend
decides: on PostgreSQL the worker wakes on LISTEN/NOTIFY (its own connection) and proves it
is alive by renewing a lease, so other workers abandon its runs once the lease has expired
by a grace period (and it stops them itself before that if it cannot renew); on the
embedded SQLite default there is one process, so the runs still `running` at start are
those of a worker that died with it. Either way the worker probes its job types first and
records what it can run (engine.capabilities).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from adapters.clock import SystemClock
from adapters.store_backend import StoreBackend
from application.app import JobLedger
from application.ports import Clock, Wakeup
from domain.errors import InvalidInput
from engine.capabilities import DEFAULT_UNRUNNABLE_WAIT
from engine.ports import WorkerCapabilities
from engine.worker import Worker
from jobtypes import Availability, Executor
from projections.runs import RunsView

logger = logging.getLogger("jobledger.worker")

DEFAULT_CONCURRENCY = 4
# On SIGTERM, how long running runs may go on before they are stopped and recorded abandoned.
DEFAULT_GRACE_SECONDS = 30.0
# A worker's lease, and how long after its expiry other workers wait before taking its runs.
DEFAULT_LEASE_SECONDS = 20.0
DEFAULT_LEASE_GRACE_SECONDS = 30.0


def executor_lookup(catalog: Any) -> Callable[[str], Executor]:
    """Job type name -> its executor: the catalog's own lookup (adapters.job_types), which
    builds one executor per type and keeps it, and refuses an unknown type with InvalidInput
    naming `job_type`. Typed `Any`: the application's port does not name executors."""
    lookup: Callable[[str], Executor] = catalog.executor
    return lookup


def probe_job_types(catalog: Any) -> dict[str, Availability]:
    """Each job type's availability on this machine (adapters.job_types.check_all): what a
    worker records at start and `jobledger worker --check` prints. Typed `Any` as above."""
    found: dict[str, Availability] = catalog.check_all()
    return found


@dataclass
class WorkerHandle:
    """A started worker: `stop()` ends it cleanly (see `Worker.stop`)."""

    worker: Worker
    _wakeup: Wakeup
    _records: WorkerCapabilities | None = None

    @property
    def worker_id(self) -> str:
        return self.worker.id

    def stop(self, *, grace: float = DEFAULT_GRACE_SECONDS) -> None:
        self.worker.stop(grace=grace)
        _close(self._wakeup)
        if self._records is not None:
            self._records.close()


def start_worker(
    app: JobLedger,
    backend: StoreBackend,
    *,
    runs_view: RunsView | None = None,
    executor_for: Callable[[str], Executor] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    clock: Clock | None = None,
    worker_id: str | None = None,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    lease_grace_seconds: float = DEFAULT_LEASE_GRACE_SECONDS,
    capabilities: Mapping[str, Availability] | None = None,
    unrunnable_wait_seconds: float | None = None,
    **options: Any,
) -> WorkerHandle:
    """Start one worker (a loop thread, a log-flush thread and `concurrency` run threads)
    on `app`. Returns once it holds its lease and knows the queue.

    With the runs view (a built System's `runs`) it starts from the view's snapshot; without
    one it finds the unfinished runs by reading the Run events, topic-filtered. Executors
    come from the app's job-type catalog unless `executor_for` is given; what the worker can
    run, from probing the catalog's job types unless `capabilities` is given. A queued run
    that no live worker can run fails after its job's timeout, else after
    `unrunnable_wait_seconds` (default an hour)."""
    if concurrency < 1:
        raise InvalidInput("concurrency", "must be at least 1")
    if capabilities is None:
        capabilities = probe_job_types(app.job_types)
    wait = (
        DEFAULT_UNRUNNABLE_WAIT
        if unrunnable_wait_seconds is None
        else timedelta(seconds=unrunnable_wait_seconds)
    )
    wakeup = backend.wakeup(app.recorder)
    lease = timedelta(seconds=lease_seconds)
    leases = backend.worker_leases(lease=lease, grace=timedelta(seconds=lease_grace_seconds))
    records = backend.worker_capabilities()
    worker = Worker(
        app,
        executor_for=executor_for or executor_lookup(app.job_types),
        clock=clock or SystemClock(),
        wakeup=wakeup,
        worker_id=worker_id,
        concurrency=concurrency,
        leases=leases,
        lease=lease,
        runs_view=runs_view,
        abandon_running_at_start=backend.abandons_running_at_start,
        capabilities=capabilities,
        capability_records=records,
        unrunnable_wait=wait,
        **options,
    )
    try:
        worker.start()
    except BaseException:
        _close(wakeup)
        if leases is not None:
            leases.release()
        records.close()
        raise
    for name, found in sorted(capabilities.items()):
        if not found.available:
            # Said once at start, where an operator looks: its runs wait for another worker.
            logger.warning("worker %s will not run %s jobs: %s", worker.id, name, found.reason)
    return WorkerHandle(worker=worker, _wakeup=wakeup, _records=records)


def _close(wakeup: Wakeup) -> None:
    # Only a wake-up with a connection of its own (PostgreSQL's LISTEN) has one to close.
    close = getattr(wakeup, "close", None)
    if close is not None:
        close()
