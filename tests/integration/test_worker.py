"""The engine on real stores with real processes: claims raced by several workers, a worker
killed with SIGKILL, cancel and timeout killing a real process tree, logs as recorded."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from adapters.data_keys_postgres import PostgresDataKeyStore
from adapters.event_store_config import StoreSettings, conninfo, parse_database_url
from adapters.job_types import EntryPointJobTypeCatalog
from adapters.master_key import MasterKey
from adapters.secret_vault import EnvelopeSecretVault
from adapters.store_backend import backend_for
from application.app import JobLedger
from domain.errors import Conflict
from domain.run import Run, retry_run_id
from interfaces.bootstrap import System, build
from interfaces.settings import Settings
from interfaces.worker_runtime import WorkerHandle, executor_lookup, start_worker
from tests.process_marks import is_gone as process_gone
from tests.process_marks import kill_quietly, sh_mark

SECRET = "tok-5f1c0e-worker-never-logged"
JOBLEDGER = [sys.executable, "-m", "interfaces.cli.main"]
ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll a real process's effect with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def status(system: Any, run_id: UUID) -> str:
    return str(system.app.get_run(run_id).status)


@pytest.fixture
def key() -> str:
    return MasterKey.generate().to_text()


class Systems:
    """Several systems (each its own application) on one store, closed at the end."""

    def __init__(self, store: StoreSettings, data_dir: Path, key: str) -> None:
        self.settings = Settings(store=store, data_dir=data_dir, master_key=key)
        self.systems: list[System] = []
        self.handles: list[WorkerHandle] = []

    def new(self) -> System:
        system = build(self.settings, announce=lambda _m: None)
        self.systems.append(system)
        return system

    def worker(self, system: System, **kwargs: Any) -> WorkerHandle:
        handle = start_worker(system.app, system.backend, runs_view=system.runs, **kwargs)
        self.handles.append(handle)
        return handle

    def close(self) -> None:
        for handle in self.handles:
            handle.stop(grace=5)
        for system in self.systems:
            system.close()


@pytest.fixture
def pg_store(pg_schema) -> StoreSettings:
    url, schema = pg_schema
    return parse_database_url(f"{url}?schema={schema}")


@dataclass
class Lite:
    """An application without views (a test needs no read model, and every pool of
    connections counts on a server that several test sessions share)."""

    app: JobLedger
    keys: Any


class PgApps:
    """Applications with small pools on one PostgreSQL store, and their workers."""

    def __init__(self, store: StoreSettings, key: str) -> None:
        self.store, self.key = store, key
        self.apps: list[Lite] = []
        self.handles: list[WorkerHandle] = []

    def new(self) -> Lite:
        app, keys = small_app(self.store, self.key)
        lite = Lite(app, keys)
        self.apps.append(lite)
        return lite

    def worker(self, lite: Lite, *, concurrency: int, **options: Any) -> WorkerHandle:
        handle = start_worker(
            lite.app,
            backend_for(self.store),
            executor_for=executor_lookup(lite.app.job_types),
            concurrency=concurrency,
            **options,
        )
        self.handles.append(handle)
        return handle

    def close(self) -> None:
        for handle in self.handles:
            handle.stop(grace=5)
        for lite in self.apps:
            lite.keys.close()
            lite.app.close()


@pytest.fixture
def pg(pg_store, key: str) -> Iterator[PgApps]:
    apps = PgApps(pg_store, key)
    yield apps
    apps.close()


def command_job(system: Any, argv: list[str], **policies: Any) -> Any:
    return system.app.register_job(
        name=f"job {argv[0]}",
        job_type="command",
        program={"argv": argv},
        actor="alice",
        log_level=policies.pop("log_level", "Info"),
        policies=policies,
    )


def started_events(app: JobLedger, run_id: UUID) -> list[Run.Started]:
    events = app.repository.event_store.get(run_id)
    return [e for e in events if isinstance(e, Run.Started)]


def small_app(store: StoreSettings, key: str) -> tuple[JobLedger, Any]:
    """An application of its own, with a small connection pool (four share one server)."""
    keys = PostgresDataKeyStore(conninfo(store), store.schema)
    keys.create_table()
    env = backend_for(store).event_store_env(pool_size=2, max_overflow=4)
    vault = EnvelopeSecretVault(keys, MasterKey.from_text(key))
    return JobLedger(vault=vault, job_types=EntryPointJobTypeCatalog(), env=env), keys


@pytest.mark.postgres
def test_four_workers_racing_start_each_run_exactly_once(pg_store, key: str) -> None:
    apps = [small_app(pg_store, key) for _ in range(4)]
    app = apps[0][0]
    job = app.register_job(
        name="noop", job_type="command", program={"argv": ["true"]}, actor="alice",
        policies={"overlap": "allow"},
    )  # fmt: skip
    handles: list[WorkerHandle] = []
    try:
        for each, _keys in apps:
            handles.append(
                start_worker(
                    each,
                    backend_for(pg_store),
                    executor_for=executor_lookup(each.job_types),
                    concurrency=3,
                )
            )
        runs = [app.request_run(job.id, actor="bob") for _ in range(40)]
        wait_for(
            lambda: all(app.get_run(r.id).status == "succeeded" for r in runs), 60, "every run"
        )
        assert all(len(started_events(app, r.id)) == 1 for r in runs)
        workers = {app.get_run(r.id).worker for r in runs}
        assert workers <= {h.worker_id for h in handles}
        assert len(workers) > 1  # the work was shared, not serialised behind one winner
    finally:
        for handle in handles:
            handle.stop(grace=5)
        for each, keys in apps:
            keys.close()
            each.close()


def spawn_worker(
    store_url: str, data_dir: Path, key: str, stderr: Any, *extra: str
) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBLEDGER_")}
    env.update(
        JOBLEDGER_DATABASE_URL=store_url,
        JOBLEDGER_DATA_DIR=str(data_dir),
        JOBLEDGER_MASTER_KEY=key,
    )
    return subprocess.Popen(
        [*JOBLEDGER, "worker", "--concurrency", "2", *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


@pytest.mark.postgres
def test_a_worker_killed_with_sigkill_has_its_run_abandoned_and_retried(
    pg: PgApps, pg_schema, tmp_path: Path, job_dir: Path, key: str
) -> None:
    url, schema = pg_schema
    system = pg.new()
    marker, pidfile = job_dir / "attempted", job_dir / "first.pid"
    # The first attempt hangs (and says where); the retry finds the marker and succeeds.
    script = (
        f'if [ -e "{marker}" ]; then echo retried; exit 0; fi; '
        f'touch "{marker}"; echo {sh_mark()} > "{pidfile}"; exec sleep 600'
    )
    job = command_job(system, ["sh", "-c", script], max_retries=1, retry_backoff_seconds=0)
    run = system.app.request_run(job.id, actor="bob")
    stderr = (tmp_path / "worker.err").open("w")
    # Short leases, so the test need not wait out the production defaults (20 s + 30 s).
    child = spawn_worker(
        f"{url}?schema={schema}", tmp_path / "data", key, stderr, "--lease-seconds", "4"
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().startswith("JobLedger worker ")  # one line when started
        wait_for(lambda: status(system, run.id) == "running", 30, "the child worker's claim")
        dead_worker = system.app.get_run(run.id).worker
        wait_for(pidfile.exists, 10, "the program's pid")
        child.kill()
        child.wait(10)
        killed_at = time.monotonic()
        # A surviving worker, whose reaper notices once the lease is 2 s past its expiry.
        pg.worker(system, concurrency=2, lease_grace_seconds=2)
        wait_for(lambda: status(system, run.id) == "abandoned", 30, "the run abandoned")
        assert time.monotonic() - killed_at < 30
        assert system.app.get_run(run.id).error == f"worker {dead_worker} stopped responding"
        retry_id = retry_run_id(run.id, 2)
        wait_for(lambda: status(system, retry_id) == "succeeded", 30, "the retry to succeed")
        retry = system.app.get_run(retry_id)
        assert retry.retry_of == run.id and retry.attempt == 2 and retry.trigger == "retry"
    finally:
        child.kill()
        child.wait(10)
        assert child.stdout is not None
        child.stdout.close()
        stderr.close()
        if pidfile.exists():
            kill_quietly(pidfile.read_text())


TREE = (
    'sleep 600 & echo {mark_child} > "{dir}/grandchild.pid"; echo {mark_self} > "{dir}/child.pid"; '
    "echo started; wait"
)


def tree(directory: Path) -> str:
    return TREE.format(dir=directory, mark_child=sh_mark("$!"), mark_self=sh_mark())


def run_tree(pg: PgApps, tmp_path: Path, **policies: Any) -> tuple[Lite, Any, list[str]]:
    system = pg.new()
    job = command_job(system, ["sh", "-c", tree(tmp_path)], **policies)
    pg.worker(system, concurrency=1)
    run = system.app.request_run(job.id, actor="bob")
    pids = [tmp_path / "child.pid", tmp_path / "grandchild.pid"]
    wait_for(lambda: all(p.exists() and p.read_text().strip() for p in pids), 30, "the tree")
    return system, run, [p.read_text() for p in pids]


@pytest.mark.postgres
def test_cancel_kills_the_whole_process_tree(pg: PgApps, job_dir: Path) -> None:
    system, run, pids = run_tree(pg, job_dir)
    try:
        assert not any(process_gone(pid) for pid in pids)
        system.app.cancel_run(run.id, actor="carol")
        wait_for(lambda: status(system, run.id) == "cancelled", 30, "the run cancelled")
        wait_for(lambda: all(process_gone(pid) for pid in pids), 10, "the tree to be gone")
    finally:
        for pid in pids:
            kill_quietly(pid)


@pytest.mark.postgres
def test_a_timeout_kills_the_whole_process_tree(pg: PgApps, job_dir: Path) -> None:
    system, run, pids = run_tree(pg, job_dir, timeout_seconds=1)
    try:
        wait_for(lambda: status(system, run.id) == "timed_out", 30, "the run timed out")
        assert system.app.get_run(run.id).error == "timed out after 1 s"
        wait_for(lambda: all(process_gone(pid) for pid in pids), 10, "the tree to be gone")
    finally:
        for pid in pids:
            kill_quietly(pid)


def test_on_sqlite_a_run_logs_at_its_threshold_with_secrets_masked(
    tmp_path: Path, key: str
) -> None:
    store = StoreSettings(kind="sqlite", sqlite_path=tmp_path / "data" / "jobledger.sqlite3")
    systems = Systems(store, tmp_path / "data", key)
    try:
        system = systems.new()
        encoded = base64.b64encode(SECRET.encode()).decode()
        script = (
            'echo "VERBOSE: hidden"; echo "DEBUG: hidden too"; echo "INFO: token $API_KEY"; '
            f'echo "WARNING: encoded {encoded}"; echo "bad $API_KEY" >&2; exit 3'
        )
        job = command_job(system, ["sh", "-c", script], log_level="Info")
        system.app.store_secret(job.id, "API_KEY", SECRET, actor="alice")
        run = system.app.request_run(job.id, actor="bob")
        systems.worker(system, concurrency=1)
        wait_for(lambda: status(system, run.id) == "failed", 30, "the run to fail")
        stored = system.app.get_run(run.id)
        assert stored.exit_code == 3 and SECRET not in (stored.error or "")
        system.catch_up()
        entries, _ = system.logs.entries(run.id, limit=100)
        messages = [(e["level"], e["message"]) for e in entries]
        assert SECRET not in repr(messages) and encoded not in repr(messages)
        # stdout and stderr are two pipes read by two threads: no order between them.
        assert [m for _, m in messages if m != "bad ***"] == ["token ***", "encoded ***"]
        assert sorted(m for _, m in messages) == ["bad ***", "encoded ***", "token ***"]
    finally:
        systems.close()


def test_on_sqlite_runs_left_running_are_abandoned_when_workers_start(
    tmp_path: Path, key: str
) -> None:
    store = StoreSettings(kind="sqlite", sqlite_path=tmp_path / "data" / "jobledger.sqlite3")
    systems = Systems(store, tmp_path / "data", key)
    try:
        system = systems.new()
        job = command_job(system, ["true"])
        run = system.app.request_run(job.id, actor="bob")
        system.app.start_run(run.id, worker="died-with-the-process")
        system.catch_up()  # the runs view knows it running: start-up reads from the view
        systems.worker(system, concurrency=1)
        assert status(system, run.id) == "abandoned"
        assert system.app.get_run(run.id).error == "worker stopped; found at start-up"
    finally:
        systems.close()


@pytest.mark.postgres
def test_sigterm_stops_the_worker_cleanly_abandoning_what_outlives_the_grace(
    pg: PgApps, pg_schema, tmp_path: Path, job_dir: Path, key: str
) -> None:
    url, schema = pg_schema
    system = pg.new()
    job = command_job(system, ["sh", "-c", tree(job_dir)])
    run = system.app.request_run(job.id, actor="bob")
    stderr = (tmp_path / "worker.err").open("w")
    child = spawn_worker(f"{url}?schema={schema}", tmp_path / "data", key, stderr, "--grace", "0.5")
    pids: list[str] = []
    try:
        wait_for(lambda: status(system, run.id) == "running", 30, "the child worker's claim")
        files = [job_dir / "child.pid", job_dir / "grandchild.pid"]
        wait_for(lambda: all(p.exists() and p.read_text().strip() for p in files), 10, "pids")
        pids = [p.read_text() for p in files]
        child.send_signal(signal.SIGTERM)
        assert child.wait(60) == 0
        stored = system.app.get_run(run.id)
        assert stored.status == "abandoned" and "shut down" in (stored.error or "")
        wait_for(lambda: all(process_gone(pid) for pid in pids), 10, "the tree to be gone")
    finally:
        child.kill()
        child.wait(10)
        assert child.stdout is not None
        child.stdout.close()
        stderr.close()
        for pid in pids:
            kill_quietly(pid)


@pytest.mark.postgres
def test_leases_tell_a_live_worker_from_a_gone_one_by_the_databases_clock(pg_store) -> None:
    from adapters.worker_leases import PostgresWorkerLeases

    def leases(seconds: float, grace: float = 0.2) -> PostgresWorkerLeases:
        made = PostgresWorkerLeases(
            conninfo(pg_store),
            pg_store.schema,
            lease=timedelta(seconds=seconds),
            grace=timedelta(seconds=grace),
        )
        made.create_table()
        return made

    # `other` judges the rest with a short grace; `brief` takes a lease of 0.2 s.
    alive, other, brief = leases(30), leases(30), leases(0.2)
    try:
        alive.hold("worker-a")
        other.hold("worker-b")
        assert other.expired(["worker-a", "worker-b"]) == set()  # itself: never expired
        with pytest.raises(Conflict):
            leases(30).hold("worker-a")  # one holder per id while its lease runs
        alive.renew()
        brief.hold("worker-c")  # renews nothing from now on, as a dead worker would
        deadline = time.monotonic() + 5
        while other.expired(["worker-c"]) != {"worker-c"}:
            assert time.monotonic() < deadline, "a lease never expired"
            time.sleep(0.05)
        alive.release()  # a clean stop gives the lease up at once
        assert other.expired(["worker-a", "worker-c"]) == {"worker-a", "worker-c"}
    finally:
        for made in (alive, other, brief):
            made.release()
