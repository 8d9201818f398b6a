"""The shared store: a PostgreSQL schema holds the events, the views, the data keys, the API
tokens and the scheduler checkpoints of any number of processes, which wake each other
with LISTEN/NOTIFY and prove workers alive with leases they renew."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from eventsourcing.persistence import ApplicationRecorder

from adapters.data_keys import DataKeyStore
from adapters.data_keys_postgres import PostgresDataKeyStore
from adapters.event_store_config import StoreSettings, conninfo, encoding_env, open_view
from adapters.notifier_checkpoint import PostgresNotifierPosition
from adapters.notifier_deliveries import PostgresNotifierDeliveries
from adapters.pg_wakeup import PostgresWakeup
from adapters.postgres_pools import tune_pools
from adapters.postgres_views import (
    PostgresAuditView,
    PostgresJobsView,
    PostgresLogsView,
    PostgresRunsView,
)
from adapters.postgres_views.notifications import PostgresNotificationsView
from adapters.retention_postgres import PostgresRetentionStore
from adapters.scheduler_checkpoint import PostgresSchedulerCheckpoint
from adapters.store_presence import StorePresence, postgres_presence
from adapters.token_store_postgres import PostgresTokenStore
from adapters.worker_capabilities_postgres import PostgresWorkerCapabilities
from adapters.worker_leases import PostgresWorkerLeases
from application.ports import TokenStore, Wakeup
from projections.read_models import ReadModels

# The event store's pool in a process that uses it from a handful of threads.
POOL_SIZE, MAX_OVERFLOW = 4, 8
# Every process builds all five views, but most use one or two of them, and lightly: no
# connection held for a view until it is read (then up to 4, closed after 10 idle minutes)
# keeps a cluster of API, scheduler, worker, notifier and projection processes inside the
# server's connection limit. Measured on an idle store: a worker holds 15 connections, not
# 20; four workers, two schedulers and the projections 83, where the default limit is 100.
VIEW_POOL_SIZE, VIEW_MAX_OVERFLOW = 0, 4


class PostgresBackend:
    """What a PostgreSQL store needs; see adapters.store_backend.StoreBackend."""

    # Other workers may be alive: a run still `running` is theirs until their lease expires.
    abandons_running_at_start = False

    def __init__(self, store: StoreSettings) -> None:
        self.store = store
        self.conninfo = conninfo(store)
        tune_pools()  # see adapters.postgres_pools: prompt reconnection, a cheap pre-ping

    def __repr__(self) -> str:
        # The conninfo may hold a password, so it is left out.
        return f"PostgresBackend({self.describe()}, schema={self.store.schema!r})"

    def describe(self) -> str:
        s = self.store
        return f"postgresql://{s.user}@{s.host}:{s.port}/{s.dbname}"

    def presence(self) -> StorePresence:
        return postgres_presence(self.conninfo, self.store.schema)

    def disk_trouble(self) -> str | None:
        # The server's disk is out of sight: a full one shows as failing writes (507).
        return None

    def prepare_data_dir(self, data_dir: Path) -> None:
        # Nothing of the store lives in the data directory.
        del data_dir

    def event_store_env(
        self, *, pool_size: int | None = None, max_overflow: int | None = None
    ) -> dict[str, str]:
        s = self.store
        return {
            **encoding_env(),
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "APPLICATION_RECORDER_TOPIC": "adapters.postgres_recorder:PostgresEventRecorder",
            "POSTGRES_DBNAME": s.dbname,
            "POSTGRES_HOST": s.host,
            "POSTGRES_PORT": str(s.port),
            "POSTGRES_USER": s.user,
            "POSTGRES_PASSWORD": s.password,
            "POSTGRES_SCHEMA": s.schema,
            "POSTGRES_POOL_SIZE": str(POOL_SIZE if pool_size is None else pool_size),
            "POSTGRES_MAX_OVERFLOW": str(MAX_OVERFLOW if max_overflow is None else max_overflow),
            # Check a pooled connection before handing it out: after a database restart
            # every idle connection is dead, and without the check each would fail one
            # operation (a request, a run's log batch) before the pool dropped it.
            "POSTGRES_PRE_PING": "y",
            # How long a request waits for a pooled connection: while the database is away
            # it answers 503 after this, instead of holding a server thread for longer.
            "POSTGRES_CONNECT_TIMEOUT": "3",
        }

    def open_views(self, env: dict[str, str]) -> ReadModels:
        env = {
            **env,
            "POSTGRES_POOL_SIZE": str(VIEW_POOL_SIZE),
            "POSTGRES_MAX_OVERFLOW": str(VIEW_MAX_OVERFLOW),
        }
        return ReadModels(
            jobs=open_view("jobs", PostgresJobsView, env),
            runs=open_view("runs", PostgresRunsView, env),
            logs=open_view("logs", PostgresLogsView, env),
            audit=open_view("audit", PostgresAuditView, env),
            notifications=open_view("notifications", PostgresNotificationsView, env),
        )

    def data_key_store(self) -> DataKeyStore:
        keys = PostgresDataKeyStore(self.conninfo, self.store.schema)
        keys.create_table()
        return keys

    def token_store(self, *, cache_seconds: float = 0.0) -> TokenStore:
        tokens = PostgresTokenStore(self.conninfo, self.store.schema, cache_seconds=cache_seconds)
        try:
            tokens.create_table()
        except BaseException:
            tokens.close()  # its pool holds connections
            raise
        return tokens

    def scheduler_checkpoint(self, name: str = "default") -> PostgresSchedulerCheckpoint:
        return PostgresSchedulerCheckpoint(self.conninfo, self.store.schema, name)

    def notifier_position(self, name: str = "default") -> PostgresNotifierPosition:
        return PostgresNotifierPosition(self.conninfo, self.store.schema, name)

    def notifier_deliveries(self, name: str = "default") -> PostgresNotifierDeliveries:
        return PostgresNotifierDeliveries(self.conninfo, self.store.schema, name)

    def wakeup(self, recorder: ApplicationRecorder) -> Wakeup:
        # Its own LISTEN connection: saves by other processes wake the loop at once.
        channel: Any = getattr(recorder, "channel_name")  # noqa: B009 - PostgreSQL recorders only
        return PostgresWakeup(self.conninfo, str(channel))

    def worker_leases(self, *, lease: timedelta, grace: timedelta) -> PostgresWorkerLeases:
        leases = PostgresWorkerLeases(self.conninfo, self.store.schema, lease=lease, grace=grace)
        leases.create_table()
        return leases

    def worker_capabilities(self) -> PostgresWorkerCapabilities:
        records = PostgresWorkerCapabilities(self.conninfo, self.store.schema)
        try:
            records.create_table()
        except BaseException:
            records.close()  # its pool may hold a connection
            raise
        return records

    def retention_store(self, recorder: ApplicationRecorder) -> PostgresRetentionStore:
        # The event store's own pool: the sweep is one more short user of it.
        datastore: Any = getattr(recorder, "datastore")  # noqa: B009 - PostgreSQL recorders only
        table: Any = getattr(recorder, "events_table_name")  # noqa: B009
        return PostgresRetentionStore(datastore, str(table))
