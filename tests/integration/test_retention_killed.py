"""A retention sweep killed (SIGKILL, a real process) between recording `Run.LogPurged` and
deleting the log, on both stores: the run's event carries the count of the log that was
there, and the next sweep, in another process, finishes the deletion."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.event_store_config import StoreSettings, parse_database_url
from domain.run import Run
from interfaces.bootstrap import System, build
from interfaces.retention_runtime import retention_sweep
from interfaces.retention_settings import RetentionSettings
from interfaces.settings import Settings
from tests.fakes import FakeClock
from tests.integration.test_retention import LINES, finished_run, log_rows

# The child: one sweep from two days on, whose deletion step kills its own process, as a
# crash or an OOM kill would at that moment (after the event was saved).
CHILD = """
import os, signal, sys
from datetime import UTC, datetime, timedelta
from adapters.event_store_config import StoreSettings, parse_database_url
from interfaces.bootstrap import build
from interfaces.retention_runtime import retention_sweep
from interfaces.retention_settings import RetentionSettings
from interfaces.settings import Settings
from pathlib import Path
from tests.fakes import FakeClock

kind, where, data_dir = sys.argv[1:4]
store = (
    StoreSettings(kind="sqlite", sqlite_path=Path(where)) if kind == "sqlite"
    else parse_database_url(where)
)
system = build(Settings(store=store, data_dir=Path(data_dir), master_key=None), create=False)
clock = FakeClock(datetime.now(UTC) + timedelta(days=2))
sweep = retention_sweep(system.app, system.backend, RetentionSettings(), clock=clock)
sweep.store.purge_log = lambda run_id: os.kill(os.getpid(), signal.SIGKILL)
sweep.run()
print("not killed")
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[StoreSettings, str]:
    if request.param == "sqlite":
        path = tmp_path / "data" / "jobledger.sqlite3"
        return StoreSettings(kind="sqlite", sqlite_path=path), str(path)
    url, schema = request.getfixturevalue("pg_schema")
    return parse_database_url(f"{url}?schema={schema}"), f"{url}?schema={schema}"


@pytest.fixture
def system(store: tuple[StoreSettings, str], tmp_path: Path) -> Iterator[System]:
    built = build(
        Settings(store=store[0], data_dir=tmp_path / "data", master_key=None),
        announce=lambda _m: None,
    )
    yield built
    built.close()


def test_a_sweep_killed_after_the_event_is_finished_by_the_next_process(
    system: System, store: tuple[StoreSettings, str], tmp_path: Path
) -> None:
    job = system.app.register_job(
        name="killed", job_type="command", program={"argv": ["true"]}, actor="alice",
        policies={"log_retention_days": 1},
    )  # fmt: skip
    run = finished_run(system, job.id)
    system.app.register_job(
        name="later", job_type="command", program={"argv": ["true"]}, actor="alice"
    )  # the log's events are not the newest
    system.catch_up()

    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    child = subprocess.run(
        [sys.executable, "-c", CHILD, store[0].kind, store[1], str(tmp_path / "data")],
        env=env, capture_output=True, text=True, timeout=120, cwd=root,
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert "not killed" not in child.stdout

    events = [
        system.app.mapper.to_domain_event(e) for e in system.app.recorder.select_events(run.id)
    ]
    assert isinstance(events[-1], Run.LogPurged) and events[-1].entries == LINES
    assert log_rows(system, run.id) > 0  # killed before the deletion: the log is still there

    clock = FakeClock(datetime.now(UTC) + timedelta(days=2))
    sweep = retention_sweep(system.app, system.backend, RetentionSettings(), clock=clock)
    try:
        report = sweep.run()
        assert (report.resumed, report.runs) == (1, [])
        assert sweep.store.purged_entries() == LINES and sweep.store.pending_purges() == []
    finally:
        sweep.store.close()
    assert log_rows(system, run.id) == 0
    system.catch_up()
    assert system.logs.entries(run.id)[0] == []
    row = system.runs.get_run(run.id)
    assert row is not None and row["log_purged_entries"] == LINES
