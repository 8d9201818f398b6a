"""The composition root: turns one Settings object into a running JobLedger.

This is the only module that knows which adapters implement which ports; entry points
(the command line, later the HTTP API and the workers) call `build` and tests call it with
their own settings.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from adapters.data_keys import DataKeyStore
from adapters.file_modes import private_directory
from adapters.job_types import EntryPointJobTypeCatalog
from adapters.master_key import MasterKey, load_master_key
from adapters.secret_vault import EnvelopeSecretVault
from adapters.store_backend import StoreBackend, backend_for
from application.app import JobLedger
from application.outage import LoopState, Outage
from application.ports import RetentionStore, TokenStore
from engine.capabilities import TypeAvailability, summarize
from engine.ports import WorkerCapabilities
from interfaces.settings import Settings
from projections.audit import AuditView
from projections.base import BatchProjection
from projections.follower import EventFollower
from projections.jobs import JobsView
from projections.logs import LogsView
from projections.notifications import NotificationsView
from projections.runs import RunsView


@dataclass
class System:
    """A built JobLedger: the application, its read models and what feeds them, on the
    store's backend (which the runtimes use for their store-specific parts)."""

    settings: Settings
    backend: StoreBackend
    app: JobLedger
    keys: DataKeyStore
    master_key: MasterKey
    jobs: JobsView
    runs: RunsView
    logs: LogsView
    audit: AuditView
    notifications: NotificationsView
    projections: list[BatchProjection[Any]]
    follower: EventFollower
    # Which job types the live workers can run (they record it; the API reads it).
    capabilities: WorkerCapabilities
    _threads: list[threading.Thread] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _loops: list[Callable[[], Iterable[LoopState]]] = field(default_factory=list)
    projections_outage: Outage = field(
        default_factory=lambda: Outage("projections", logging.getLogger("jobledger.projections"))
    )
    _retention: RetentionStore | None = None
    _notifiers: list[Callable[[], dict[str, Any]]] = field(default_factory=list)

    def retention_store(self) -> RetentionStore:
        """The store's retention figures and deletions (made on first use, for /metrics)."""
        if self._retention is None:
            self._retention = self.backend.retention_store(self.app.recorder)
        return self._retention

    def start_projections(self) -> None:
        """Keep the views up to date in a background thread until `close`."""
        self.app.after_save.append(lambda _id: self.follower.wakeup.set())
        thread = threading.Thread(
            target=self.follow, args=(self._stop,), name="projections", daemon=True
        )
        thread.start()
        self._threads.append(thread)

        def projections_state() -> list[LoopState]:
            if not thread.is_alive() and not self._stop.is_set():
                return [LoopState("projections", healthy=False, cause="stopped")]
            return [self.projections_outage.state()]

        self.report_loop(projections_state)

    def follow(self, stop: threading.Event) -> None:
        """Keep the views up to date in this thread until `stop`, riding out store outages
        (logged once each, retried with a capped backoff, resumed from the views' positions)."""
        outage = self.projections_outage
        self.follower.run(stop, failed=outage.failed, succeeded=outage.succeeded)

    def report_loop(self, states: Callable[[], Iterable[LoopState]]) -> None:
        """Have /healthz and /metrics include a loop of this process (scheduler, worker)."""
        self._loops.append(states)

    def report_notifier(self, figures: Callable[[], dict[str, Any]]) -> Callable[[], None]:
        """Have /metrics include a notifier of this process; the callable undoes it."""
        self._notifiers.append(figures)
        return lambda: self._notifiers.remove(figures)

    def notifier_figures(self) -> list[dict[str, Any]]:
        """Each notifier of this process: `notifier.summary`."""
        return [figures() for figures in self._notifiers]

    def loop_states(self) -> list[LoopState]:
        """The state of every loop running in this process."""
        return [state for source in self._loops for state in source()]

    def job_type_availability(
        self, names: Iterable[str] | None = None
    ) -> dict[str, TypeAvailability]:
        """Whether any live worker can run each job type (default: every installed one),
        and if none can, why, from what the workers recorded at their start."""
        wanted = self.app.job_types.names() if names is None else names
        return summarize(wanted, self.capabilities.live())

    def waiting_reason(self, run: dict[str, Any]) -> str | None:
        """Why a queued run (a runs-view row) waits, when no live worker can run its job
        type; else None."""
        if run["status"] != "queued":
            return None
        found = self.job_type_availability([run["job_type"]])[run["job_type"]]
        return None if found.available else found.reason

    def catch_up(self) -> int:
        """Bring every view up to date now, in this thread."""
        return self.follower.catch_up()

    def rebuild_projections(self) -> int:
        """Drop every view and replay the whole history into it."""
        for projection in self.projections:
            projection.view.drop()
            projection.view.create_table()
        self.follower.reset()
        return self.follower.catch_up()

    def close_projections(self) -> None:
        """Stop the background follower, if one was started."""
        self._stop.set()
        self.follower.wakeup.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        self._stop = threading.Event()

    def close(self) -> None:
        self.close_projections()
        for projection in self.projections:
            datastore = getattr(projection.view, "datastore", None)
            if datastore is not None:
                datastore.close()
        close_wakeup = getattr(self.follower.wakeup, "close", None)
        if close_wakeup is not None:
            close_wakeup()
        if self._retention is not None:
            self._retention.close()
        self.keys.close()
        self.capabilities.close()
        self.app.close()


def build(
    settings: Settings,
    *,
    announce: Callable[[str], None] | None = None,
    create: bool = True,
    create_key: bool | None = None,
) -> System:
    """Open (creating on first start) the store, the key file and the views. Without
    `create` (or with `create_key` False) a missing key file is an error; the command line
    checks the store itself first (interfaces.store_location)."""
    announce = announce or (lambda message: print(message, file=sys.stderr))
    # Owner-only: the data directory holds the master key and the embedded database.
    if create or settings.data_dir.exists():
        private_directory(settings.data_dir)
    master_key = load_master_key(
        settings.master_key,
        settings.data_dir,
        announce,
        create=create if create_key is None else create_key,
    )
    backend = backend_for(settings.store)
    env = backend.event_store_env()
    keys = backend.data_key_store()
    vault = EnvelopeSecretVault(keys, master_key)
    app = JobLedger(vault=vault, job_types=EntryPointJobTypeCatalog(), env=env)
    views = backend.open_views(env)
    projections = views.projections()
    follower = EventFollower(
        app.recorder, app.mapper, projections, wakeup=backend.wakeup(app.recorder)
    )
    return System(
        settings=settings,
        backend=backend,
        app=app,
        keys=keys,
        master_key=master_key,
        jobs=views.jobs,
        runs=views.runs,
        logs=views.logs,
        audit=views.audit,
        notifications=views.notifications,
        projections=projections,
        follower=follower,
        capabilities=backend.worker_capabilities(),
    )


def job_type_catalog() -> EntryPointJobTypeCatalog:
    """The installed job types (built-ins and plugins), for a command that needs no store
    (`jobledger worker --check`)."""
    return EntryPointJobTypeCatalog()


def build_token_access(settings: Settings) -> tuple[JobLedger, TokenStore]:
    """The token store and an application that records token events on the audit trail,
    for `jobledger tokens`: no views and no keys, since it never touches a secret (the
    scheduler process's application is exactly that)."""
    from interfaces.scheduler_runtime import scheduler_app

    backend = backend_for(settings.store)
    return scheduler_app(settings, backend), backend.token_store()


def build_token_store(settings: Settings, *, cache_seconds: float = 0.0) -> TokenStore:
    """The token store on the configured store, for a command that needs no whole system
    (`jobledger tokens`); its table is created on first start."""
    return backend_for(settings.store).token_store(cache_seconds=cache_seconds)
