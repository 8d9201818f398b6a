"""Fixtures shared by integration tests that run one system on each store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.event_store_config import StoreSettings, parse_database_url
from interfaces.bootstrap import System, build
from interfaces.settings import Settings


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreSettings:
    """A fresh store of each kind: a SQLite file, and a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        return StoreSettings(kind="sqlite", sqlite_path=tmp_path / "jobledger.sqlite3")
    url, schema = request.getfixturevalue("pg_schema")
    return parse_database_url(f"{url}?schema={schema}")


@pytest.fixture
def system(store: StoreSettings, tmp_path: Path) -> Iterator[System]:
    """The whole system built on `store`, closed after the test."""
    built = build(
        Settings(store=store, data_dir=tmp_path / "data", master_key=None),
        announce=lambda _m: None,
    )
    yield built
    built.close()
