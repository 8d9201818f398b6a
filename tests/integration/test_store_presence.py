"""Whether a store exists, looked at on both real stores without creating anything: the
check behind "only `serve` and `init` create a store"."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from adapters.event_store_config import StoreSettings, parse_database_url
from adapters.store_backend import backend_for
from interfaces.bootstrap import build
from interfaces.settings import Settings


def test_a_missing_sqlite_file_is_not_initialised_and_stays_missing(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "jobledger.sqlite3"
    presence = backend_for(StoreSettings(kind="sqlite", sqlite_path=path)).presence()
    assert (presence.reachable, presence.initialised) == (True, False)
    assert str(path) in str(presence.problem)
    assert not path.parent.exists()


def test_a_sqlite_file_without_the_event_table_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE something_else (x)")
    presence = backend_for(StoreSettings(kind="sqlite", sqlite_path=path)).presence()
    assert (presence.reachable, presence.initialised) == (True, False)


def test_a_built_sqlite_store_is_initialised_with_counts(tmp_path: Path) -> None:
    settings = Settings(
        store=StoreSettings(kind="sqlite", sqlite_path=tmp_path / "data" / "j.sqlite3"),
        data_dir=tmp_path / "data",
        master_key=None,
    )
    system = build(settings, announce=lambda _m: None)
    try:
        system.app.register_job(name="a", job_type="command", program={"argv": ["true"]}, actor="t")
        system.catch_up()
    finally:
        system.close()
    presence = backend_for(settings.store).presence()
    assert (presence.reachable, presence.initialised) == (True, True)
    assert presence.counts["jobs"] == 1 and presence.counts["events"] >= 1


@pytest.mark.postgres
def test_an_empty_postgres_schema_is_not_initialised_until_built(pg_schema, tmp_path) -> None:
    url, schema = pg_schema
    store = parse_database_url(f"{url}?schema={schema}")
    presence = backend_for(store).presence()
    assert (presence.reachable, presence.initialised) == (True, False)
    assert schema in str(presence.problem)
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchone()
    assert tables == (0,)  # looking created nothing
    settings = Settings(store=store, data_dir=tmp_path / "data", master_key=None)
    build(settings, announce=lambda _m: None).close()
    presence = backend_for(store).presence()
    assert (presence.reachable, presence.initialised) == (True, True)
    assert presence.counts == {"jobs": 0, "events": 0}


def test_an_unreachable_postgres_is_reported_without_its_password() -> None:
    store = parse_database_url("postgresql://jl:pw-9f3e-never-shown@127.0.0.1:1/nowhere")
    presence = backend_for(store).presence()
    assert (presence.reachable, presence.initialised) == (False, False)
    assert "pw-9f3e-never-shown" not in str(presence.problem)
