"""Everything that differs between the two stores, behind one interface.

The composition root picks a backend once, from the store settings (`backend_for`), and
passes it to what needs a store-specific part: the eventsourcing configuration, the views,
the data-key and token tables, the scheduler's checkpoint, how loops are woken, how workers
prove they are alive and record which job types they can run. Nothing else asks which store
it is on.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from eventsourcing.persistence import ApplicationRecorder

from adapters.data_keys import DataKeyStore
from adapters.event_store_config import StoreSettings
from adapters.postgres_backend import PostgresBackend
from adapters.sqlite_backend import SQLiteBackend
from adapters.store_presence import StorePresence
from application.ports import RetentionStore, TokenStore, Wakeup
from engine.ports import WorkerCapabilities, WorkerLeases
from notifier.ports import PendingDeliveries
from projections.read_models import ReadModels


class SchedulerCheckpoint(Protocol):
    """A scheduler's durable watermark (scheduler.scheduler.Checkpoint) in a table of the
    store, with a connection to release."""

    def load(self) -> datetime | None: ...

    def save(self, handled_until: datetime) -> None: ...

    def close(self) -> None: ...


class NotifierPosition(Protocol):
    """The notifier's position (notifier.ports.Position), with a connection to release."""

    def load(self) -> int: ...

    def save(self, position: int) -> None: ...

    def close(self) -> None: ...


class StoreBackend(Protocol):
    """One store's way of doing each thing that depends on the store."""

    store: StoreSettings
    # Whether a worker starting up takes the runs still `running` for abandoned: true where
    # one process owns the store, so no other worker can be running them.
    abandons_running_at_start: bool

    def describe(self) -> str:
        """The store as a person reads it in a start-up message (never a password)."""
        ...

    def presence(self) -> StorePresence:
        """Whether the store is reachable and initialised, looked at without creating it."""
        ...

    def disk_trouble(self) -> str | None:
        """What is wrong with the disk the store writes to, if this process can see it."""
        ...

    def prepare_data_dir(self, data_dir: Path) -> None:
        """Create the data directory if the store keeps files in it."""
        ...

    def event_store_env(
        self, *, pool_size: int | None = None, max_overflow: int | None = None
    ) -> dict[str, str]:
        """The eventsourcing environment of the event store (pool sizes where it has one)."""
        ...

    def open_views(self, env: dict[str, str]) -> ReadModels:
        """The four views on this store, configured from the event store's `env`."""
        ...

    def data_key_store(self) -> DataKeyStore:
        """The wrapped data keys' table, created on first use."""
        ...

    def token_store(self, *, cache_seconds: float = 0.0) -> TokenStore:
        """The API tokens' table, created on first use."""
        ...

    def scheduler_checkpoint(self, name: str = "default") -> SchedulerCheckpoint: ...

    def notifier_position(self, name: str = "default") -> NotifierPosition:
        """The notifier's position in the log (notifier.ports.Position), in the store."""
        ...

    def notifier_deliveries(self, name: str = "default") -> PendingDeliveries:
        """The notifier's pending deliveries and their position, in the store."""
        ...

    def wakeup(self, recorder: ApplicationRecorder) -> Wakeup:
        """What a scheduler, worker or follower loop sleeps on, to be woken by new events."""
        ...

    def worker_leases(self, *, lease: timedelta, grace: timedelta) -> WorkerLeases | None:
        """How a worker proves it is alive to other workers (leases of `lease` length,
        taken over `grace` after they expire); None where there are no other workers."""
        ...

    def worker_capabilities(self) -> WorkerCapabilities:
        """Where workers record which job types they can run (its table created on first
        use), live while the worker is."""
        ...

    def retention_store(self, recorder: ApplicationRecorder) -> RetentionStore:
        """Where the retention sweep deletes logs and reads the store's size."""
        ...


def backend_for(store: StoreSettings) -> StoreBackend:
    """The backend of a store: the one place that tells the stores apart."""
    if store.kind == "sqlite":
        return SQLiteBackend(store)
    return PostgresBackend(store)
