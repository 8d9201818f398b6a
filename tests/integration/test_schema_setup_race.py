"""Processes started at once on a fresh PostgreSQL schema all create it without an error.

A cluster starts its API, scheduler and worker processes together; each creates whatever
tables are missing. Concurrent CREATE ... IF NOT EXISTS of one name can still fail in the
catalogs (a unique violation on pg_type or pg_namespace), so every set-up runs under one
lock per schema. Threads stand in for processes: each has its own connections.
"""

from __future__ import annotations

import threading
import uuid

import psycopg
import pytest
from psycopg import sql

from adapters.event_store_config import conninfo, parse_database_url
from adapters.scheduler_checkpoint import PostgresSchedulerCheckpoint
from interfaces.bootstrap import build, build_token_store
from interfaces.settings import Settings
from tests.conftest import TEST_DATABASE_URL

# Each start holds about 15 connections until it closes: 5 at once stay well inside a
# default server's 100, alongside other tests.
STARTS = 5


@pytest.fixture
def unborn_schema() -> object:
    """A schema name no one has created yet; dropped afterwards."""
    if not TEST_DATABASE_URL:
        pytest.skip("JOBLEDGER_TEST_DATABASE_URL is not set: no PostgreSQL server to test on")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield schema
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.mark.postgres
def test_processes_starting_together_on_a_fresh_schema_all_succeed(unborn_schema, tmp_path):
    store = parse_database_url(f"{TEST_DATABASE_URL}?schema={unborn_schema}")
    barrier = threading.Barrier(STARTS)
    errors: list[BaseException] = []

    def start(i: int) -> None:
        settings = Settings(store=store, data_dir=tmp_path / f"p{i}", master_key=None)
        try:
            barrier.wait(timeout=30)
            # The order each kind of process sets things up in, all at the same instant.
            if i % 2:
                build_token_store(settings).close()
                PostgresSchedulerCheckpoint(conninfo(store), store.schema).close()
            build(settings, announce=lambda _m: None).close()
            if not i % 2:
                build_token_store(settings).close()
        except BaseException as error:  # noqa: BLE001 - reported below, with its thread
            errors.append(error)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(STARTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, [f"{type(e).__name__}: {e}" for e in errors]
