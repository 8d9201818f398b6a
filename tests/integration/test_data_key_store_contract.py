"""One contract for every DataKeyStore backend, run against SQLite and PostgreSQL.

The PostgreSQL run needs JOBLEDGER_TEST_DATABASE_URL; each test gets its own schema,
because tests share one database.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import sql

from adapters.data_keys import DataKeyStore, WrappedKey
from adapters.data_keys_postgres import PostgresDataKeyStore
from adapters.data_keys_sqlite import SQLiteDataKeyStore
from adapters.key_rotation import rotate_master_key
from adapters.master_key import MasterKey
from adapters.secret_vault import EnvelopeSecretVault
from domain.errors import SecretUnavailable

DATABASE_URL = os.environ.get("JOBLEDGER_TEST_DATABASE_URL")

StoreFactory = Callable[[], DataKeyStore]


class DataKeyStoreContract:
    """The behaviour every backend must have. Subclasses provide `make_store`."""

    @pytest.fixture
    def make_store(self) -> Iterator[StoreFactory]:
        """A factory of stores over one fresh, empty table (each one its own 'process')."""
        raise NotImplementedError

    @pytest.fixture
    def store(self, make_store: StoreFactory) -> DataKeyStore:
        return make_store()

    def test_get_of_an_unknown_job_is_none(self, store: DataKeyStore) -> None:
        assert store.get(uuid4()) is None

    def test_create_then_get(self, store: DataKeyStore) -> None:
        job = uuid4()
        made = store.create_if_absent(job, b"wrapped-1", "mk1")
        got = store.get(job)
        assert made == got
        assert isinstance(got, WrappedKey) and got.job_id == job and isinstance(got.job_id, UUID)
        assert (got.wrapped, got.master_key_id, got.shredded_at) == (b"wrapped-1", "mk1", None)
        assert got.created_at.tzinfo is not None and not got.shredded

    def test_create_if_absent_keeps_the_first_key(self, store: DataKeyStore) -> None:
        job = uuid4()
        store.create_if_absent(job, b"first", "mk1")
        assert store.create_if_absent(job, b"second", "mk2").wrapped == b"first"
        assert store.get(job).wrapped == b"first"  # type: ignore[union-attr]

    def test_destroy_leaves_a_tombstone_that_refuses_new_keys(self, store: DataKeyStore) -> None:
        job, other = uuid4(), uuid4()
        store.create_if_absent(job, b"w", "mk1")
        store.create_if_absent(other, b"o", "mk1")
        store.destroy(job)
        row = store.get(job)
        assert row is not None and row.shredded and row.wrapped is None
        assert row.shredded_at is not None and row.master_key_id is None
        assert store.create_if_absent(job, b"again", "mk1").wrapped is None
        assert store.get(other).wrapped == b"o"  # type: ignore[union-attr]
        first_shred = row.shredded_at
        store.destroy(job)  # idempotent, keeps the first shred time
        assert store.get(job).shredded_at == first_shred  # type: ignore[union-attr]

    def test_destroy_of_a_job_without_a_key_still_refuses_later_keys(
        self, store: DataKeyStore
    ) -> None:
        job = uuid4()
        store.destroy(job)
        assert store.get(job).shredded  # type: ignore[union-attr]
        assert store.create_if_absent(job, b"w", "mk1").shredded

    def test_all_lists_every_row_across_pages(self, store: DataKeyStore) -> None:
        jobs = sorted((uuid4() for _ in range(8)), key=str)
        for i, job in enumerate(jobs):
            store.create_if_absent(job, f"w{i}".encode(), "mk1")
        store.destroy(jobs[3])
        rows = list(store.all())
        assert [r.job_id for r in rows] == jobs
        assert [r.shredded for r in rows] == [i == 3 for i in range(8)]

    def test_all_of_an_empty_table(self, store: DataKeyStore) -> None:
        assert list(store.all()) == []

    def test_replace_wrapped(self, store: DataKeyStore) -> None:
        job, shredded = uuid4(), uuid4()
        store.create_if_absent(job, b"old", "mk1")
        store.create_if_absent(shredded, b"old", "mk1")
        store.destroy(shredded)
        assert not store.replace_wrapped(job, b"x", "mk2", expected_master_key_id="other")
        assert store.replace_wrapped(job, b"new", "mk2", expected_master_key_id="mk1")
        assert store.replace_wrapped(job, b"newer", "mk3")
        row = store.get(job)
        assert (row.wrapped, row.master_key_id) == (b"newer", "mk3")  # type: ignore[union-attr]
        assert not store.replace_wrapped(shredded, b"zombie", "mk2")  # never resurrected
        assert store.get(shredded).wrapped is None  # type: ignore[union-attr]
        assert not store.replace_wrapped(uuid4(), b"w", "mk2")

    def test_create_table_is_idempotent(self, store: DataKeyStore) -> None:
        job = uuid4()
        store.create_if_absent(job, b"w", "mk1")
        store.create_table()
        assert store.get(job).wrapped == b"w"  # type: ignore[union-attr]

    def test_racing_creators_end_with_one_key(self, make_store: StoreFactory) -> None:
        stores = [make_store(), make_store()]  # two "processes", each with its connections
        for _ in range(20):
            job = uuid4()
            first, second = _race(
                lambda: stores[0].create_if_absent(job, b"key-0", "mk1"),  # noqa: B023
                lambda: stores[1].create_if_absent(job, b"key-1", "mk1"),  # noqa: B023
            )
            assert first.wrapped == second.wrapped
            assert first.wrapped in (b"key-0", b"key-1")
            assert stores[0].get(job) == first == second

    def test_vault_and_rotation_over_this_backend(self, store: DataKeyStore) -> None:
        old, new = MasterKey.generate(), MasterKey.generate()
        vault = EnvelopeSecretVault(store, old)
        jobs = [uuid4() for _ in range(5)]
        cts = {job: vault.encrypt(job, "TOKEN", f"secret-{job}") for job in jobs}
        vault.shred(jobs[0])
        assert rotate_master_key(store, old, new) == 4
        assert rotate_master_key(store, old, new) == 0
        rotated = EnvelopeSecretVault(store, new)
        rotated.verify_master_key()
        for job in jobs[1:]:
            assert rotated.decrypt(job, "TOKEN", cts[job]) == f"secret-{job}"
        with pytest.raises(SecretUnavailable, match="destroyed"):
            rotated.decrypt(jobs[0], "TOKEN", cts[jobs[0]])
        with pytest.raises(SecretUnavailable, match="destroyed"):
            rotated.encrypt(jobs[0], "TOKEN", "new")
        with pytest.raises(SecretUnavailable, match="master key does not match"):
            EnvelopeSecretVault(store, old).decrypt(jobs[1], "TOKEN", cts[jobs[1]])


def _race(*calls: Callable[[], WrappedKey]) -> list[WrappedKey]:
    """Run the calls in threads released at the same instant; their results, in order."""
    barrier = threading.Barrier(len(calls))
    results: list[WrappedKey | BaseException | None] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except BaseException as exc:  # re-raised in the test's own thread below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return [r for r in results if isinstance(r, WrappedKey)]


class TestSQLiteDataKeyStore(DataKeyStoreContract):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Iterator[StoreFactory]:
        path = str(tmp_path / "jobledger.sqlite3")
        SQLiteDataKeyStore(path).create_table()
        # page_size 3: listing a handful of rows already crosses page boundaries.
        yield lambda: SQLiteDataKeyStore(path, page_size=3)

    def test_the_file_is_in_wal_mode(self, tmp_path: Path) -> None:
        path = tmp_path / "wal.sqlite3"
        SQLiteDataKeyStore(str(path)).create_table()
        with closing(sqlite3.connect(path)) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.postgres
@pytest.mark.skipif(
    not DATABASE_URL,
    reason="JOBLEDGER_TEST_DATABASE_URL is not set "
    "(e.g. postgresql://postgres@127.0.0.1:5432/test)",
)
class TestPostgresDataKeyStore(DataKeyStoreContract):
    @pytest.fixture
    def make_store(self) -> Iterator[StoreFactory]:
        assert DATABASE_URL
        schema = f"t_{secrets.token_hex(6)}"
        opened: list[PostgresDataKeyStore] = []

        def make() -> DataKeyStore:
            store = PostgresDataKeyStore(DATABASE_URL, schema, page_size=3)
            opened.append(store)
            return store

        make().create_table()  # also creates the schema
        try:
            yield make
        finally:
            for store in opened:
                store.close()
            with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )

    def test_a_schema_name_needing_quotes_works(self) -> None:
        assert DATABASE_URL
        schema = f"T {secrets.token_hex(4)}; drop"
        try:
            with PostgresDataKeyStore(DATABASE_URL, schema) as store:
                store.create_table()
                job = uuid4()
                store.create_if_absent(job, b"w", "mk1")
                assert store.get(job).wrapped == b"w"  # type: ignore[union-attr]
                assert DATABASE_URL not in repr(store)  # conninfo may hold a password
        finally:
            with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )
