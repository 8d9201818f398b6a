"""The embedded store: one SQLite file holds the events, the views, the data keys, the API
tokens and the scheduler's checkpoint, and one process (`jobledger serve`) uses it."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from eventsourcing.persistence import ApplicationRecorder

from adapters.data_keys import DataKeyStore
from adapters.data_keys_sqlite import SQLiteDataKeyStore
from adapters.event_store_config import StoreSettings, encoding_env, open_view
from adapters.file_modes import private_directory, private_sqlite_file
from adapters.notifier_checkpoint import SQLiteNotifierPosition
from adapters.notifier_deliveries import SQLiteNotifierDeliveries
from adapters.retention_sqlite import SQLiteRetentionStore, prepare_new_store
from adapters.scheduler_checkpoint import SQLiteSchedulerCheckpoint
from adapters.sqlite_views import SQLiteAuditView, SQLiteJobsView, SQLiteLogsView, SQLiteRunsView
from adapters.sqlite_views.notifications import SQLiteNotificationsView
from adapters.store_presence import StorePresence, sqlite_presence
from adapters.token_store_sqlite import SQLiteTokenStore
from adapters.worker_capabilities_sqlite import SQLiteWorkerCapabilities
from application.ports import ThreadWakeup, TokenStore, Wakeup
from projections.read_models import ReadModels

# Below this much free space a write is likely to fail: /healthz reports the disk full.
DISK_LOW_BYTES = 1 << 20


class SQLiteBackend:
    """What the embedded SQLite store needs; see adapters.store_backend.StoreBackend."""

    # One process owns the file, so the runs still `running` when a worker starts are those
    # of a worker that died with that process.
    abandons_running_at_start = True

    def __init__(self, store: StoreSettings) -> None:
        assert store.sqlite_path is not None, "a SQLite store names its file"
        self.store = store
        self.path: Path = store.sqlite_path

    def __repr__(self) -> str:
        return f"SQLiteBackend({self.path!s})"

    def describe(self) -> str:
        # Absolute: a relative path means a different store from another directory.
        return f"sqlite:///{self.path.absolute()}"

    def presence(self) -> StorePresence:
        return sqlite_presence(self.path)

    def disk_trouble(self) -> str | None:
        try:
            stat = os.statvfs(self.path.parent)
        except OSError as error:
            return f"disk: cannot inspect {self.path.parent}: {error.strerror}"
        free = stat.f_bavail * stat.f_frsize
        if free < DISK_LOW_BYTES:
            return f"disk full: {free // 1024} KiB free where the store is ({self.path.parent})"
        return None

    def prepare_data_dir(self, data_dir: Path) -> None:
        # Owner-only, as `build` makes it: the data directory holds the embedded database.
        private_directory(data_dir)

    def event_store_env(
        self, *, pool_size: int | None = None, max_overflow: int | None = None
    ) -> dict[str, str]:
        # One file, opened by eventsourcing's own connections: there is no pool to size.
        del pool_size, max_overflow
        private_sqlite_file(self.path)  # 0600, before eventsourcing opens it
        prepare_new_store(self.path)  # incremental vacuum, settable only on a new file
        return {
            **encoding_env(),
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(self.path),
            "SQLITE_LOCK_TIMEOUT": "30",
        }

    def open_views(self, env: dict[str, str]) -> ReadModels:
        return ReadModels(
            jobs=open_view("jobs", SQLiteJobsView, env),
            runs=open_view("runs", SQLiteRunsView, env),
            logs=open_view("logs", SQLiteLogsView, env),
            audit=open_view("audit", SQLiteAuditView, env),
            notifications=open_view("notifications", SQLiteNotificationsView, env),
        )

    def data_key_store(self) -> DataKeyStore:
        keys = SQLiteDataKeyStore(str(self.path))
        keys.create_table()
        return keys

    def token_store(self, *, cache_seconds: float = 0.0) -> TokenStore:
        # `jobledger tokens create` may be the first command on a new store.
        private_sqlite_file(self.path)
        tokens = SQLiteTokenStore(str(self.path), cache_seconds=cache_seconds)
        tokens.create_table()
        return tokens

    def scheduler_checkpoint(self, name: str = "default") -> SQLiteSchedulerCheckpoint:
        return SQLiteSchedulerCheckpoint(self.path, name)

    def notifier_position(self, name: str = "default") -> SQLiteNotifierPosition:
        return SQLiteNotifierPosition(self.path, name)

    def notifier_deliveries(self, name: str = "default") -> SQLiteNotifierDeliveries:
        return SQLiteNotifierDeliveries(self.path, name)

    def wakeup(self, recorder: ApplicationRecorder) -> Wakeup:
        # Only saves in this process can wake a loop: they call `set` from `after_save`.
        del recorder
        return ThreadWakeup()

    def worker_leases(self, *, lease: timedelta, grace: timedelta) -> None:
        # One process: no other worker to prove alive to.
        return None

    def worker_capabilities(self) -> SQLiteWorkerCapabilities:
        return SQLiteWorkerCapabilities(self.path)

    def retention_store(self, recorder: ApplicationRecorder) -> SQLiteRetentionStore:
        del recorder  # its own connection to the one file
        return SQLiteRetentionStore(self.path)
