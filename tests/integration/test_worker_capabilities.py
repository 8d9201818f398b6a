"""Workers say which job types they can run, on both real stores, with real workers and the
real HTTP API: a run of a type no live worker can run stays queued with its reason, runs
when a capable worker appears, and fails with the reason once it has waited long enough.

The job type `needs-file` is a plugin (an entry point in `jobledger.job_types`, as a package
would offer it) whose requirement, a file, the test satisfies when it chooses.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from adapters import job_types
from adapters.event_store_config import StoreSettings, conninfo, parse_database_url
from adapters.store_backend import backend_for
from adapters.worker_capabilities_sqlite import SQLiteWorkerCapabilities
from adapters.worker_leases import PostgresWorkerLeases
from domain.log_level import LogLevel
from interfaces.bootstrap import System, build, build_token_store
from interfaces.http.app import create_app
from interfaces.http.server import BackgroundServer
from interfaces.settings import Settings
from interfaces.worker_runtime import WorkerHandle, start_worker
from jobtypes import AVAILABLE, Availability, Execution, LogSink, Outcome, StopSignal


class NeedsFileExecutor:
    def execute(self, execution: Execution, log: LogSink, stop: StopSignal) -> Outcome:
        log(LogLevel.Info, "the file was there")
        return Outcome(exit_code=0)


class NeedsFileJobType:
    """Runnable only where `path` exists (the test creates it to make a capable worker)."""

    name = "needs-file"
    description = "Runs where a file exists."
    program_schema: dict[str, Any] = {"type": "object", "additionalProperties": False}
    path: Path = Path("/nonexistent")

    def executor(self) -> NeedsFileExecutor:
        return NeedsFileExecutor()

    def check(self) -> Availability:
        if self.path.exists():
            return Availability(True, detail=f"found {self.path}")
        return Availability(
            False, reason=f"{self.path} does not exist; create it", detail=f"looked for {self.path}"
        )


NEEDS_FILE = NeedsFileJobType()


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll a real worker's effect with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def needs_file_plugin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The plugin installed beside the built-ins, its file not yet there."""
    real = job_types.entry_points

    def entry_points(*, group: str) -> list[EntryPoint]:
        plugin = EntryPoint("needs-file", f"{__name__}:NEEDS_FILE", job_types.ENTRY_POINT_GROUP)
        return [*real(group=group), *([plugin] if group == plugin.group else [])]

    monkeypatch.setattr(job_types, "entry_points", entry_points)
    monkeypatch.setattr(NeedsFileJobType, "path", tmp_path / "the-file")
    return tmp_path / "the-file"


class Served:
    """A system on the store, its API on a real port, and the workers a test starts."""

    def __init__(self, store: StoreSettings, data_dir: Path) -> None:
        settings = Settings(store=store, data_dir=data_dir, master_key=None)
        self.system: System = build(settings, announce=lambda _m: None)
        self.tokens = build_token_store(settings)
        _, token = self.tokens.create("viewer", "viewer")
        self.system.start_projections()
        self.server = BackgroundServer(create_app(self.system, self.tokens), port=0).start()
        self.http = httpx.Client(
            base_url=self.server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        self.handles: list[WorkerHandle] = []

    def worker(self, **options: Any) -> WorkerHandle:
        handle = start_worker(
            self.system.app, self.system.backend, runs_view=self.system.runs, **options
        )
        self.handles.append(handle)
        return handle

    def job_type(self, name: str) -> dict[str, Any]:
        items = self.http.get("/api/job-types").json()["items"]
        return next(item for item in items if item["name"] == name)

    def run(self, run_id: Any) -> dict[str, Any]:
        response = self.http.get(f"/api/runs/{run_id}")
        return response.json() if response.status_code == 200 else {}

    def close(self) -> None:
        for handle in self.handles:
            handle.stop(grace=5)
        self.http.close()
        self.server.stop()
        self.tokens.close()
        self.system.close()


@pytest.fixture
def served(store: StoreSettings, tmp_path: Path) -> Iterator[Served]:
    served = Served(store, tmp_path / "data")
    yield served
    served.close()


def register(system: System) -> Any:
    return system.app.register_job(
        name="needs the file", job_type="needs-file", program={}, actor="alice"
    )


def test_a_run_no_worker_can_run_waits_with_its_reason_then_runs_on_a_capable_worker(
    served: Served, needs_file_plugin: Path
) -> None:
    app = served.system.app
    job = register(served.system)
    unable = served.worker(concurrency=1)
    run = app.request_run(job.id, actor="bob")
    wait_for(lambda: run.id in unable.worker.board.runs, 10, "the worker to see the run")
    assert unable.worker.dispatch(datetime.now(UTC)) == 0  # it does not claim it
    reason = f"no worker can run needs-file jobs: {needs_file_plugin} does not exist; create it"
    needs = served.job_type("needs-file")
    assert needs["available"] is False and needs["reason"] == reason
    command = served.job_type("command")
    assert command["available"] is True and command["reason"] is None
    shown = wait_for(lambda: served.run(run.id), 10, "the run in the view")
    assert shown["status"] == "queued" and shown["waiting_reason"] == reason

    needs_file_plugin.touch()
    able = served.worker(concurrency=1)
    wait_for(lambda: app.get_run(run.id).status == "succeeded", 30, "the capable worker's run")
    assert app.get_run(run.id).worker == able.worker_id
    assert served.job_type("needs-file") == {**needs, "available": True, "reason": None}
    finished = wait_for(
        lambda: (r := served.run(run.id)) and r["status"] == "succeeded" and r, 10, "the view"
    )
    assert finished["waiting_reason"] is None


def test_a_powershell_run_on_a_machine_without_pwsh_stays_queued_with_the_reason(
    served: Served,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-pwsh-here"))  # as on a machine without it
    monkeypatch.delenv("JOBLEDGER_PWSH", raising=False)
    app = served.system.app
    job = app.register_job(
        name="ps", job_type="powershell", program={"script": "Write-Host hi"}, actor="alice"
    )
    with caplog.at_level(logging.WARNING, logger="jobledger.worker"):
        unable = served.worker(concurrency=1)
    run = app.request_run(job.id, actor="bob")
    wait_for(lambda: run.id in unable.worker.board.runs, 10, "the worker to see the run")
    assert unable.worker.dispatch(datetime.now(UTC)) == 0
    missing = "pwsh not found on PATH; install PowerShell 7.4 or later, or set JOBLEDGER_PWSH"
    reason = f"no worker can run powershell jobs: {missing} to its path"
    assert f"worker {unable.worker_id} will not run powershell jobs: {missing}" in caplog.text
    assert served.job_type("powershell")["reason"] == reason
    shown = wait_for(lambda: served.run(run.id), 10, "the run in the view")
    assert shown["status"] == "queued" and shown["waiting_reason"] == reason
    assert app.get_run(run.id).status == "queued"


def test_a_run_no_worker_can_run_fails_with_the_reason_after_the_wait(served: Served) -> None:
    app = served.system.app
    job = register(served.system)
    served.worker(concurrency=1, unrunnable_wait_seconds=1, reap_interval=0.1)
    run = app.request_run(job.id, actor="bob")
    wait_for(lambda: app.get_run(run.id).status == "failed", 30, "the run to be given up")
    failed = app.get_run(run.id)
    assert failed.started_at is None and failed.exit_code is None
    assert (failed.error or "").startswith("no worker can run needs-file jobs: ")
    assert "(gave up after " in (failed.error or "")


def test_a_stopped_worker_no_longer_counts(served: Served, needs_file_plugin: Path) -> None:
    needs_file_plugin.touch()
    handle = served.worker(concurrency=1)
    assert served.job_type("needs-file")["available"] is True
    handle.stop(grace=1)
    served.handles.remove(handle)
    gone = served.job_type("needs-file")
    assert gone["available"] is False and gone["reason"] == "no worker is running"


# The records themselves, per store ------------------------------------------------------


def test_the_records_are_replaced_listed_and_forgotten(store: StoreSettings) -> None:
    backend = backend_for(store)
    leases = backend.worker_leases(lease=timedelta(seconds=20), grace=timedelta(seconds=30))
    records = backend.worker_capabilities()
    try:
        if leases is not None:
            leases.hold("w1")  # a record counts while its worker's lease does
        records.record("w1", {"command": AVAILABLE, "powershell": Availability(False, "no pwsh")})
        records.record("w1", {"command": AVAILABLE, "powershell": Availability(False, "old")})
        assert [(c.job_type, c.available, c.reason) for c in records.live()] == [
            ("command", True, None),
            ("powershell", False, "old"),
        ]
        records.forget("w1")
        assert records.live() == []
    finally:
        records.close()
        if leases is not None:
            leases.release()


@pytest.mark.postgres
def test_on_postgres_a_record_stops_counting_when_its_lease_expires(pg_schema) -> None:
    url, schema = pg_schema
    store = parse_database_url(f"{url}?schema={schema}")
    records = backend_for(store).worker_capabilities()
    leases = PostgresWorkerLeases(conninfo(store), schema)
    leases.create_table()
    try:
        leases.hold("dead")
        records.record("dead", {"command": AVAILABLE})
        assert [c.worker_id for c in records.live()] == ["dead"]
        with psycopg.connect(conninfo(store), autocommit=True) as conn:
            conn.execute(
                sql.SQL("UPDATE {} SET expires_at = now() - interval '1 second'").format(
                    sql.Identifier(schema, "jobledger_worker_leases")
                )
            )
        assert records.live() == []
    finally:
        records.close()
        leases.close()


def test_on_sqlite_a_new_process_drops_the_records_of_one_that_ended(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    ended = SQLiteWorkerCapabilities(path, process="host:1")
    ended.record("old", {"command": AVAILABLE})
    ended.close()
    current = SQLiteWorkerCapabilities(path, process="host:2")
    try:
        assert [c.worker_id for c in current.live()] == ["old"]  # until a worker records
        current.record("new", {"command": AVAILABLE})
        assert [c.worker_id for c in current.live()] == ["new"]
    finally:
        current.close()
