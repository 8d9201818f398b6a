"""The store backends: picked once from the store settings, each describing its store as
the start-up messages always have, never with its password."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from adapters.event_store_config import StoreSettings, parse_database_url
from adapters.postgres_backend import PostgresBackend
from adapters.sqlite_backend import SQLiteBackend
from adapters.store_backend import backend_for


def test_a_sqlite_store_gets_the_sqlite_backend(tmp_path: Path) -> None:
    backend = backend_for(StoreSettings(kind="sqlite", sqlite_path=tmp_path / "j.sqlite3"))
    assert isinstance(backend, SQLiteBackend)
    assert backend.describe() == f"sqlite:///{tmp_path / 'j.sqlite3'}"
    assert backend.abandons_running_at_start is True
    assert backend.worker_leases(lease=timedelta(seconds=20), grace=timedelta(seconds=30)) is None
    env = backend.event_store_env(pool_size=1, max_overflow=1)
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert env["SQLITE_DBNAME"] == str(tmp_path / "j.sqlite3")


def test_a_postgres_store_gets_the_postgres_backend_and_hides_its_password() -> None:
    store = parse_database_url("postgresql://alice:hunter2@db.example:5433/jl?schema=s1")
    backend = backend_for(store)
    assert isinstance(backend, PostgresBackend)
    assert backend.describe() == "postgresql://alice@db.example:5433/jl"
    assert backend.abandons_running_at_start is False
    assert "hunter2" not in repr(backend) and "hunter2" not in repr(store)
    env = backend.event_store_env()
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (env["POSTGRES_SCHEMA"], env["POSTGRES_POOL_SIZE"], env["POSTGRES_MAX_OVERFLOW"]) == (
        "s1",
        "4",
        "8",
    )
    small = backend.event_store_env(pool_size=2, max_overflow=2)
    assert (small["POSTGRES_POOL_SIZE"], small["POSTGRES_MAX_OVERFLOW"]) == ("2", "2")
