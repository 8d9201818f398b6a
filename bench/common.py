"""What every benchmark shares: fresh stores, the application, raw connections, results.

Each benchmark gets a store of its own (a new SQLite file in a temporary directory, or a
new `bench_<hex>` schema in the PostgreSQL database of JOBLEDGER_BENCH_DATABASE_URL, dropped
when the benchmark ends), so one benchmark's data never skews another's and one failing
benchmark does not stop the others. Baselines run in the same store, in tables of their own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from adapters.event_store_config import StoreSettings, conninfo, parse_database_url
from adapters.master_key import MasterKey
from adapters.store_backend import StoreBackend, backend_for
from interfaces.settings import Settings

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
_T0 = time.perf_counter()


def progress(message: str) -> None:
    """One progress line on stderr, stamped with the seconds since the run began."""
    print(f"[{time.perf_counter() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


def scaled(n: int, scale: float, minimum: int = 1) -> int:
    return max(minimum, round(n * scale))


@dataclass
class Result:
    """One line of the table: a JobLedger figure beside a baseline measured in the same run."""

    benchmark: str
    store: str
    n: int
    unit: str  # "jobs/s", "entries/s", "events/s"
    figure: float | None
    baseline: float | None = None
    baseline_label: str = ""
    goal: float | None = None  # a minimum of `figure`, in `unit`
    seconds: float | None = None  # the wall time behind `figure`
    baseline_seconds: float | None = None
    notes: str = ""
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.figure is None or not self.baseline:
            return None
        return self.figure / self.baseline

    @property
    def met(self) -> bool | None:
        if self.goal is None or self.figure is None:
            return None
        return self.figure >= self.goal

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = self.ratio
        data["met"] = self.met
        return data


@dataclass
class BenchStore:
    """A fresh, empty store for one benchmark, and the ways to reach it."""

    kind: str  # "sqlite" | "postgres"
    store: StoreSettings
    data_dir: Path
    master_key_text: str
    schema: str | None = None

    @property
    def settings(self) -> Settings:
        return Settings(store=self.store, data_dir=self.data_dir, master_key=self.master_key_text)

    @property
    def backend(self) -> StoreBackend:
        return backend_for(self.store)

    def env(self) -> dict[str, str]:
        return self.backend.event_store_env()

    def pg_connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        """A plain psycopg connection with the benchmark's schema first on the search path."""
        conn = psycopg.connect(conninfo(self.store), **kwargs)
        conn.execute(
            sql.SQL("SET search_path TO {}, public").format(sql.Identifier(self.store.schema))
        )
        if not kwargs.get("autocommit"):
            conn.commit()
        return conn

    def sqlite_connect(self) -> sqlite3.Connection:
        """A plain sqlite3 connection to the same file, set up as eventsourcing sets up its own
        (WAL journal, default synchronous=FULL, autocommit: we say BEGIN ourselves)."""
        assert self.store.sqlite_path is not None
        conn = sqlite3.connect(self.store.sqlite_path, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    def size_bytes(self) -> int:
        if self.kind == "sqlite":
            assert self.store.sqlite_path is not None
            return sum(
                p.stat().st_size
                for p in self.store.sqlite_path.parent.iterdir()
                if p.name.startswith(self.store.sqlite_path.name)
            )
        with self.pg_connect(autocommit=True) as conn:
            row = conn.execute(
                "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND c.relkind = 'r'",
                (self.store.schema,),
            ).fetchone()
        return int(row[0]) if row else 0


def pg_url_with_schema(url: str, schema: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode({"schema": schema})))


@contextlib.contextmanager
def fresh_store(kind: str, pg_url: str, label: str) -> Iterator[BenchStore]:
    """A new empty store; removed afterwards whatever happens."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"jobledger-bench-{label}-"))
    key = MasterKey.generate().to_text()
    try:
        if kind == "sqlite":
            store = StoreSettings(kind="sqlite", sqlite_path=data_dir / "jobledger.sqlite3")
            yield BenchStore(kind, store, data_dir, key)
            return
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        store = parse_database_url(pg_url_with_schema(pg_url, schema))
        with psycopg.connect(conninfo(store), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        try:
            yield BenchStore(kind, store, data_dir, key, schema=schema)
        finally:
            with psycopg.connect(conninfo(store), autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


# The application, with or without its read models.


@dataclass
class Bare:
    """The application alone (no views), built the way the composition root builds it."""

    app: Any
    keys: Any

    def close(self) -> None:
        self.keys.close()
        self.app.close()


def build_app(bench: BenchStore) -> Bare:
    """`JobLedger` with the real vault and data-key store, without importing the views."""
    from adapters.job_types import EntryPointJobTypeCatalog
    from adapters.secret_vault import EnvelopeSecretVault
    from application.app import JobLedger

    keys = bench.backend.data_key_store()
    vault = EnvelopeSecretVault(keys, MasterKey.from_text(bench.master_key_text))
    app = JobLedger(vault=vault, job_types=EntryPointJobTypeCatalog(), env=bench.env())
    return Bare(app=app, keys=keys)


def build_system(bench: BenchStore) -> Any:
    """The whole system from the composition root (needs the projection views)."""
    from interfaces.bootstrap import build

    return build(bench.settings, announce=lambda _message: None)


def events_table(app: Any) -> str:
    return str(app.recorder.events_table_name)


def count_events(bench: BenchStore, app: Any) -> int:
    table = events_table(app)
    if bench.kind == "sqlite":
        with contextlib.closing(bench.sqlite_connect()) as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    with bench.pg_connect(autocommit=True) as conn:
        row = conn.execute(sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(table)))
        return int(row.fetchone()[0])  # type: ignore[index]


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def env_pg_url() -> str:
    return os.environ.get("JOBLEDGER_BENCH_DATABASE_URL") or DEFAULT_PG_URL
