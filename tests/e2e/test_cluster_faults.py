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
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from adapters.event_store_config import parse_database_url
from adapters.job_types import EntryPointJobTypeCatalog
from adapters.store_backend import backend_for
from application.app import JobLedger
from domain.errors import NotFound, SecretUnavailable
from domain.run import scheduled_run_id
from interfaces.bootstrap import build
from interfaces.settings import Settings
from tests.e2e.processes import JOBLEDGER, Starter, processes

pytestmark = pytest.mark.postgres

JOBS = 200
# A few jobs run for seconds, so the killed worker dies with runs in hand: they must end up
# abandoned (by the survivors), not left running. Their overlapping slots are skipped.
SLOW_JOBS = 12
SLOW_PROGRAM = {"argv": ["sleep", "3"]}
FAST_PROGRAM = {"argv": ["true"]}
SCHEDULE_SECONDS = 30.0
KILL_AFTER_SECONDS = 15.0
WORKER_CONCURRENCY = 8
WORKER_GRACE_SECONDS = 5
# The workers are idle (the queue drained, the dead worker's runs abandoned) once the log
# has been still for longer than a reaper pass (3 s).
QUIET_SECONDS = 4.0


class NoSecrets:
    """The test registers jobs without secrets, so it holds no keys."""

    def encrypt(self, job_id: UUID, name: str, value: str) -> str:
        raise SecretUnavailable(job_id, name, "this test holds no keys")

    def decrypt(self, job_id: UUID, name: str, ciphertext: str) -> str:
        raise SecretUnavailable(job_id, name, "this test holds no keys")

    def shred(self, job_id: UUID) -> None:
        raise SecretUnavailable(job_id, "*", "this test holds no keys")


@pytest.fixture
def settings(pg_schema, tmp_path: Path) -> Settings:
    url, schema = pg_schema
    return Settings(
        store=parse_database_url(f"{url}?schema={schema}"),
        data_dir=tmp_path / "data",
        master_key=base64.b64encode(secrets.token_bytes(32)).decode(),
    )


@pytest.fixture
def cluster_env(pg_schema, settings: Settings) -> dict[str, str]:
    url, schema = pg_schema
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBLEDGER_")}
    env["JOBLEDGER_DATABASE_URL"] = f"{url}?schema={schema}"
    env["JOBLEDGER_MASTER_KEY"] = str(settings.master_key)
    env["JOBLEDGER_DATA_DIR"] = str(settings.data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def app(settings: Settings) -> Iterator[JobLedger]:
    """The test's own hand on the store while the cluster runs: the application only, on a
    small pool, so the five processes have the server's connections to themselves."""
    build(settings, announce=lambda _message: None).close()  # creates every table, once
    env = backend_for(settings.store).event_store_env(pool_size=1, max_overflow=1)
    app = JobLedger(vault=NoSecrets(), job_types=EntryPointJobTypeCatalog(), env=env)
    yield app
    app.close()


@pytest.fixture
def start(cluster_env, tmp_path: Path) -> Iterator[Starter]:
    with processes(cluster_env, tmp_path) as start:
        yield start


def holds_a_run(app: JobLedger, worker_id: str, job_ids: list[UUID]) -> bool:
    """Whether `worker_id` is running one of these jobs' runs of the last few seconds."""
    now = datetime.now(UTC).replace(microsecond=0)
    for job_id in job_ids:
        for back in range(6):
            try:
                run = app.get_run(scheduled_run_id(job_id, now - timedelta(seconds=back)))
            except NotFound:
                continue
            if run.status == "running" and run.worker == worker_id:
                return True
    return False


def wait_until_quiet(app: JobLedger, deadline: float) -> float:
    """Poll the notification log until it has not grown for QUIET_SECONDS; when it fell quiet."""
    last, quiet_since = app.recorder.max_notification_id(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = app.recorder.max_notification_id()
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= QUIET_SECONDS:
            break
    return quiet_since


def recorded_runs(settings: Settings) -> list[dict[str, Any]]:
    """Every run, from the runs view brought up to date from the whole history."""
    system = build(settings, announce=lambda _message: None)
    try:
        system.catch_up()
        view = system.runs
        runs, cursor = view.list_runs(limit=1000)
        while cursor is not None:
            page, cursor = view.list_runs(limit=1000, cursor=cursor)
            runs.extend(page)
        return runs
    finally:
        system.close()


def test_killing_a_scheduler_and_a_worker_loses_and_doubles_no_run(app, settings, start):
    assert JOBLEDGER.exists(), f"the console script is not installed at {JOBLEDGER}"
    ready_by = time.monotonic() + 60
    schedulers = [start(f"scheduler-{i}", "scheduler") for i in (1, 2)]
    workers = [
        start(
            f"worker-{i}", "worker", "--concurrency", str(WORKER_CONCURRENCY),
            "--grace", str(WORKER_GRACE_SECONDS),
            # Short leases, so the survivors take the killed worker's runs within the test
            # (the defaults, 20 s + 30 s, are for production).
            "--lease-seconds", "4", "--lease-grace", "2",
        )
        for i in (1, 2, 3)
    ]  # fmt: skip
    for process in schedulers:
        process.wait_for_output("scheduler started", ready_by)
    worker_ids = {}
    for process in workers:
        line = process.wait_for_output("JobLedger worker ", ready_by)
        worker_ids[process.name] = line.split("JobLedger worker ", 1)[1].split()[0]

    began, began_at = time.monotonic(), datetime.now(UTC)
    jobs = [
        app.register_job(
            name=f"every second {i:03}", job_type="command",
            program=SLOW_PROGRAM if i < SLOW_JOBS else FAST_PROGRAM,
            actor="e2e", schedule={"cron": "* * * * * *", "timezone": "UTC"},
        ).id
        for i in range(JOBS)
    ]  # fmt: skip
    registered_in = time.monotonic() - began

    # The schedule runs on the wall clock, so the test does too. The worker dies while it
    # holds a run (a slow job's), so the survivors have something to abandon.
    time.sleep(max(0.0, began + KILL_AFTER_SECONDS - time.monotonic()))
    victim_scheduler, victim_worker = schedulers[0], workers[0]
    kill_by = time.monotonic() + 5
    while not holds_a_run(app, worker_ids[victim_worker.name], jobs[:SLOW_JOBS]):
        assert time.monotonic() < kill_by, "the worker to kill never held a slow run"
        time.sleep(0.1)
    victim_scheduler.signal(signal.SIGKILL)
    victim_worker.signal(signal.SIGKILL)
    assert victim_scheduler.wait_exit(5) == -signal.SIGKILL
    assert victim_worker.wait_exit(5) == -signal.SIGKILL
    killed_worker = worker_ids[victim_worker.name]

    time.sleep(max(0.0, began + SCHEDULE_SECONDS - time.monotonic()))
    schedulers[1].signal(signal.SIGTERM)
    assert schedulers[1].wait_exit(15) == 0, schedulers[1].tail()
    stopped_at = time.monotonic()

    # The surviving workers drain the queue and abandon the dead worker's runs, then idle.
    quiet_after = wait_until_quiet(app, stopped_at + 30) - stopped_at
    for process in workers[1:]:
        process.signal(signal.SIGTERM)
    for process in workers[1:]:
        assert process.wait_exit(WORKER_GRACE_SECONDS + 15) == 0, process.tail()
    tails = "\n".join(p.tail() for p in [*schedulers, *workers])
    runs = recorded_runs(settings)

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
    one_second = timedelta(seconds=1)
    spans = []
    for job_id, fired in by_job.items():
        fired.sort()
        holes = [(a, b) for a, b in zip(fired, fired[1:], strict=False) if b - a != one_second]
        assert not holes, f"job {job_id} has holes in its record: {holes[:3]}"
        spans.append(
            ((fired[0] - began_at).total_seconds(), (fired[-1] - began_at).total_seconds())
        )
    # Each record runs from its registration to near the end of the schedule window.
    first, last = max(a for a, _ in spans), min(b for _, b in spans)
    assert first <= registered_in + 3 and last >= SCHEDULE_SECONDS - 3, (first, last, tails)

    # Nothing left queued or running; the only failures are explained abandonments.
    statuses = Counter(r["status"] for r in runs)
    assert statuses["queued"] == 0 and statuses["running"] == 0, (statuses, quiet_after, tails)
    assert statuses["failed"] == 0, [r["error"] for r in runs if r["status"] == "failed"][:5]
    assert set(statuses) <= {"succeeded", "skipped", "abandoned"}, statuses
    abandoned = [r for r in runs if r["status"] == "abandoned"]
    unexplained = [r for r in abandoned if r["worker"] != killed_worker]
    assert not unexplained, [(r["worker"], r["error"]) for r in unexplained[:5]]
    assert all(killed_worker in (r["error"] or "") for r in abandoned), abandoned[:3]
    assert all(r["error"] for r in runs if r["status"] == "skipped")
    by_worker = Counter((r["worker"], r["status"]) for r in runs)
    assert abandoned, f"the killed worker {killed_worker} abandoned nothing: {by_worker}"
    reasons = Counter(r["error"].split(":")[0] for r in runs if r["status"] == "skipped")
    print(
        f"\n{len(runs)} runs of {JOBS} jobs: {dict(statuses)}; skipped because {dict(reasons)}; "
        f"registered in {registered_in:.1f} s; quiet {quiet_after:.1f} s after the last "
        f"scheduler stopped; {len(abandoned)} abandoned, all on the killed worker"
    )
