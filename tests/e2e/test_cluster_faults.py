"""Many processes on one PostgreSQL store, some killed mid-way: every slot still runs once.

2 `jobledger scheduler` and 3 `jobledger worker` processes (the venv's console script) share
a fresh schema. 200 jobs fire every second for 30 seconds; one scheduler and one worker are
SIGKILLed half-way. The record must show exactly one run per (job, slot), no slot missing
between a job's first and last fired second (skipped slots count: they are recorded), and no
run left queued or running; every abandoned run is explained by the worker that died.
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.event_store_config import parse_database_url
from domain.run import scheduled_run_id
from interfaces.bootstrap import System, build
from interfaces.settings import Settings

pytestmark = pytest.mark.postgres

JOBLEDGER = Path(sys.executable).with_name("jobledger")
JOBS = 200
SCHEDULE_SECONDS = 30.0
KILL_AFTER_SECONDS = 15.0
WORKER_CONCURRENCY = 4
WORKER_GRACE_SECONDS = 5


@dataclass
class Process:
    """One JobLedger process started by this test, its output kept in files."""

    name: str
    popen: subprocess.Popen[bytes]
    out: Path
    err: Path

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def tail(self, lines: int = 15) -> str:
        text = self.output() + self.err.read_text(errors="replace")
        return f"--- {self.name} (exit {self.popen.poll()}) ---\n" + "\n".join(
            text.splitlines()[-lines:]
        )

    def signal(self, signum: int) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signum)

    def wait_for_output(self, text: str, deadline: float) -> str:
        while time.monotonic() < deadline:
            for line in self.output().splitlines():
                if text in line:
                    return line
            assert self.popen.poll() is None, f"{self.name} exited early\n{self.tail()}"
            time.sleep(0.1)
        raise AssertionError(f"{self.name} never printed {text!r}\n{self.tail()}")

    def wait_exit(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} did not stop\n{self.tail()}") from None


@pytest.fixture
def cluster_env(pg_schema, tmp_path: Path) -> dict[str, str]:
    url, schema = pg_schema
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBLEDGER_")}
    env["JOBLEDGER_DATABASE_URL"] = f"{url}?schema={schema}"
    env["JOBLEDGER_MASTER_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
    env["JOBLEDGER_DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def system(cluster_env, tmp_path: Path):
    """The test's own view of the store; building it first creates the tables once."""
    settings = Settings(
        store=parse_database_url(cluster_env["JOBLEDGER_DATABASE_URL"]),
        data_dir=tmp_path / "data",
        master_key=cluster_env["JOBLEDGER_MASTER_KEY"],
    )
    system = build(settings, announce=lambda _message: None)
    yield system
    system.close()


@pytest.fixture
def start(cluster_env, tmp_path: Path):
    started: list[Process] = []

    def start(name: str, *args: str) -> Process:
        out, err = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
        popen = subprocess.Popen(
            [str(JOBLEDGER), *args],
            env=cluster_env,
            stdout=out.open("wb"),
            stderr=err.open("wb"),
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        process = Process(name, popen, out, err)
        started.append(process)
        return process

    yield start
    for process in started:  # only ours, by pid: whatever a failed test left running
        if process.popen.poll() is None:
            process.popen.kill()
            process.popen.wait(10)


def all_runs(system: System) -> list[dict[str, Any]]:
    view = system.view("runs")
    runs, cursor = view.list_runs(limit=1000)
    while cursor is not None:
        page, cursor = view.list_runs(limit=1000, cursor=cursor)
        runs.extend(page)
    return runs


def unfinished(system: System) -> int:
    system.catch_up()
    counts = system.view("runs").count_by_status()
    return int(counts.get("queued", 0) + counts.get("running", 0))


def test_killing_a_scheduler_and_a_worker_loses_and_doubles_no_run(system, start):
    assert JOBLEDGER.exists(), f"the console script is not installed at {JOBLEDGER}"
    ready_by = time.monotonic() + 60
    schedulers = [start(f"scheduler-{i}", "scheduler") for i in (1, 2)]
    workers = [
        start(
            f"worker-{i}", "worker", "--concurrency", str(WORKER_CONCURRENCY),
            "--grace", str(WORKER_GRACE_SECONDS),
        )
        for i in (1, 2, 3)
    ]  # fmt: skip
    for process in schedulers:
        process.wait_for_output("scheduler started", ready_by)
    worker_ids = {}
    for process in workers:
        line = process.wait_for_output("JobLedger worker ", ready_by)
        worker_ids[process.name] = line.split("JobLedger worker ", 1)[1].split()[0]

    began = time.monotonic()
    jobs = [
        system.app.register_job(
            name=f"every second {i:03}", job_type="command", program={"argv": ["true"]},
            actor="e2e", schedule={"cron": "* * * * * *", "timezone": "UTC"},
        ).id
        for i in range(JOBS)
    ]  # fmt: skip
    registered_in = time.monotonic() - began

    time.sleep(max(0.0, began + KILL_AFTER_SECONDS - time.monotonic()))  # wall-clock schedule
    victim_scheduler, victim_worker = schedulers[0], workers[0]
    victim_scheduler.signal(signal.SIGKILL)
    victim_worker.signal(signal.SIGKILL)
    assert victim_scheduler.wait_exit(5) == -signal.SIGKILL
    assert victim_worker.wait_exit(5) == -signal.SIGKILL
    killed_worker = worker_ids[victim_worker.name]

    time.sleep(max(0.0, began + SCHEDULE_SECONDS - time.monotonic()))
    schedulers[1].signal(signal.SIGTERM)
    assert schedulers[1].wait_exit(15) == 0, schedulers[1].tail()
    stopped_at = time.monotonic()

    # The surviving workers drain the queue and abandon the dead worker's runs.
    drain_by = time.monotonic() + 30
    left = unfinished(system)
    while left and time.monotonic() < drain_by:
        time.sleep(0.5)
        left = unfinished(system)
    drained_in = time.monotonic() - stopped_at
    for process in workers[1:]:
        process.signal(signal.SIGTERM)
    for process in workers[1:]:
        assert process.wait_exit(WORKER_GRACE_SECONDS + 15) == 0, process.tail()
    system.catch_up()
    runs = all_runs(system)
    tails = "\n".join(p.tail() for p in [*schedulers, *workers])

    # Exactly one run per (job, slot), under the slot's name-based id.
    scheduled = [r for r in runs if r["trigger"] == "schedule"]
    slots = Counter((r["job_id"], r["scheduled_for"]) for r in scheduled)
    doubled = {slot: n for slot, n in slots.items() if n > 1}
    assert not doubled, f"{len(doubled)} slots ran more than once: {list(doubled)[:5]}"
    assert all(r["id"] == scheduled_run_id(r["job_id"], r["scheduled_for"]) for r in scheduled)

    # None lost: every second from a job's first fired slot to its last is there.
    by_job: dict[Any, list[Any]] = defaultdict(list)
    for run in scheduled:
        by_job[run["job_id"]].append(run["scheduled_for"])
    assert sorted(map(str, by_job)) == sorted(map(str, jobs)), "a job never fired"
    spans = []
    for job_id, fired in by_job.items():
        fired.sort()
        gaps = [
            (a, b) for a, b in zip(fired, fired[1:], strict=False) if b - a != timedelta(seconds=1)
        ]
        assert not gaps, f"job {job_id} has holes in its record: {gaps[:3]}"
        spans.append((fired[-1] - fired[0]).total_seconds())
    # The record spans the kill: well past it, nearly to the end of the schedule window.
    assert min(spans) >= SCHEDULE_SECONDS - KILL_AFTER_SECONDS + 5, (min(spans), tails)

    # Nothing left queued or running; the only failures are explained abandonments.
    statuses = Counter(r["status"] for r in runs)
    assert statuses["queued"] == 0 and statuses["running"] == 0, (statuses, drained_in, tails)
    assert statuses["failed"] == 0, [r["error"] for r in runs if r["status"] == "failed"][:5]
    assert set(statuses) <= {"succeeded", "skipped", "abandoned"}, statuses
    abandoned = [r for r in runs if r["status"] == "abandoned"]
    unexplained = [r for r in abandoned if r["worker"] != killed_worker]
    assert not unexplained, [(r["worker"], r["error"]) for r in unexplained[:5]]
    assert all(killed_worker in (r["error"] or "") for r in abandoned), abandoned[:3]
    assert all(r["error"] for r in runs if r["status"] == "skipped")
    assert any(r["worker"] == killed_worker for r in runs), "the killed worker never ran a run"
    print(
        f"\n{len(runs)} runs of {JOBS} jobs: {dict(statuses)}; registered in "
        f"{registered_in:.1f} s; drained {drained_in:.1f} s after the last scheduler stopped; "
        f"{len(abandoned)} abandoned, all on the killed worker {killed_worker}"
    )
