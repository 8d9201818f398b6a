"""The composition root: turns one Settings object into a running JobLedger.

This is the only module that knows which adapters implement which ports; entry points
(the command line, later the HTTP API and the workers) call `build` and tests call it with
their own settings.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from adapters.data_keys import DataKeyStore
from adapters.data_keys_postgres import PostgresDataKeyStore
from adapters.data_keys_sqlite import SQLiteDataKeyStore
from adapters.event_store_config import StoreSettings, conninfo, store_env
from adapters.file_modes import private_directory
from adapters.job_types import JobTypeCatalog
from adapters.master_key import MasterKey, load_master_key
from adapters.pg_wakeup import PostgresWakeup
from adapters.postgres_views import (
    PostgresAuditView,
    PostgresJobsView,
    PostgresLogsView,
    PostgresRunsView,
)
from adapters.secret_vault import SecretVault
from adapters.sqlite_views import SQLiteAuditView, SQLiteJobsView, SQLiteLogsView, SQLiteRunsView
from application.app import JobLedger
from application.ports import Wakeup
from interfaces.settings import Settings
from projections.audit import AuditProjection
from projections.base import BatchProjection
from projections.follower import EventFollower
from projections.jobs import JobsProjection
from projections.logs import LogsProjection
from projections.runs import RunsProjection

PROJECTIONS: tuple[type[BatchProjection[Any]], ...] = (
    JobsProjection,
    RunsProjection,
    LogsProjection,
    AuditProjection,
)

VIEW_CLASSES: dict[str, dict[str, type[Any]]] = {
    "sqlite": {
        "jobs": SQLiteJobsView,
        "runs": SQLiteRunsView,
        "logs": SQLiteLogsView,
        "audit": SQLiteAuditView,
    },
    "postgres": {
        "jobs": PostgresJobsView,
        "runs": PostgresRunsView,
        "logs": PostgresLogsView,
        "audit": PostgresAuditView,
    },
}


def data_key_store(store: StoreSettings) -> DataKeyStore:
    keys: DataKeyStore
    if store.kind == "sqlite":
        assert store.sqlite_path is not None
        keys = SQLiteDataKeyStore(str(store.sqlite_path))
    else:
        keys = PostgresDataKeyStore(conninfo(store), store.schema)
    keys.create_table()
    return keys


@dataclass
class System:
    """A built JobLedger: the application, its read models and what feeds them."""

    settings: Settings
    app: JobLedger
    keys: DataKeyStore
    master_key: MasterKey
    projections: list[BatchProjection[Any]]
    follower: EventFollower
    _threads: list[threading.Thread] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def view(self, name: str) -> Any:
        return next(p.view for p in self.projections if p.name == name)

    def start_projections(self) -> None:
        """Keep the views up to date in a background thread until `close`."""
        self.app.after_save.append(lambda _id: self.follower.wakeup.set())
        thread = threading.Thread(
            target=self.follower.run, args=(self._stop,), name="projections", daemon=True
        )
        thread.start()
        self._threads.append(thread)

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
        self.keys.close()
        self.app.close()


def build(settings: Settings, *, announce: Callable[[str], None] | None = None) -> System:
    """Open (creating on first start) the store, the key file and the views."""
    announce = announce or (lambda message: print(message, file=sys.stderr))
    # Owner-only: the data directory holds the master key and the embedded database.
    private_directory(settings.data_dir)
    master_key = load_master_key(settings.master_key, settings.data_dir, announce)
    env = store_env(settings.store)
    keys = data_key_store(settings.store)
    vault = SecretVault(keys, master_key)
    app = JobLedger(vault=vault, job_types=JobTypeCatalog(), env=env)
    projections = [cls(view=_view(cls.name, settings.store.kind, env)) for cls in PROJECTIONS]
    wakeup: Wakeup | None = None
    if settings.store.kind == "postgres":
        wakeup = PostgresWakeup(conninfo(settings.store), app.recorder.channel_name)  # type: ignore[attr-defined]
    follower = EventFollower(app.recorder, app.mapper, projections, wakeup=wakeup)
    return System(
        settings=settings,
        app=app,
        keys=keys,
        master_key=master_key,
        projections=projections,
        follower=follower,
    )


def _view(name: str, kind: str, env: dict[str, str]) -> Any:
    view_class = VIEW_CLASSES[kind][name]
    if kind == "postgres":
        # Every process builds all four views, but most use one or two of them, and
        # lightly: one pooled connection each (more on demand) keeps a cluster of API,
        # scheduler and worker processes well inside the server's connection limit.
        env = {**env, "POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "4"}
    factory = InfrastructureFactory.construct(Environment(name, env))
    return factory.tracking_recorder(view_class)
