"""The multi-process deployment of the README, on a PostgreSQL cluster of the test's own, through
what a real deployment meets: the database stopped, restarted or crashed, a worker cut off
from it by a network partition, many processes starting at once on a fresh database, and (on
the embedded default) a full disk.

Every process is a real `jobledger` process; the database is a real cluster on another port
(never the shared server on 5432); the partition is a TCP proxy that swallows bytes.
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.pg_cluster import PgCluster, create_cluster, tools_missing
from tests.e2e.processes import JOBLEDGER, Process, Starter, init_store, processes
from tests.e2e.tcp_proxy import TcpProxy
from tests.e2e.test_api_cli import free_port

pytestmark = pytest.mark.postgres

HEALTH_WITHIN = 2.0  # seconds: /healthz says 503 this soon after the database goes away
READABLE_WITHIN = 10.0  # seconds: a new write is readable this soon after it comes back
LEASE = ("--lease-seconds", "3", "--lease-grace", "3")


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    missing = tools_missing()
    if missing:
        pytest.fail(f"the fault suite cannot run here: {missing}")
    made = create_cluster()
    try:
        yield made
    finally:
        made.drop()


@pytest.fixture
def database_url(cluster: PgCluster) -> Iterator[str]:
    cluster.ensure_running()
    name = f"jl_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(cluster.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres@127.0.0.1:{cluster.port}/{name}"


@pytest.fixture
def fresh_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of a deployment on a database nothing has set up yet."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBLEDGER_")}
    env["JOBLEDGER_DATABASE_URL"] = database_url
    env["JOBLEDGER_MASTER_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
    env["JOBLEDGER_DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def env(fresh_env: dict[str, str]) -> dict[str, str]:
    """`fresh_env` after `jobledger init`, as a deployment starts its processes."""
    init_store(fresh_env)
    return fresh_env


@pytest.fixture
def start(env: dict[str, str], tmp_path: Path) -> Iterator[Starter]:
    with processes(env, tmp_path) as start:
        yield start


def admin_token(env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(JOBLEDGER), "tokens", "create", "--role", "admin", "--name", f"e2e-{uuid.uuid4()}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class Api:
    """The API of a started `jobledger api` process, as a script would call it."""

    def __init__(self, port: int, token: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {token}"}, timeout=15
        )

    def health(self, timeout: float = 5.0) -> httpx.Response:
        return httpx.get(f"{self.base}/healthz", timeout=timeout)

    def wait_healthy(self, deadline: float) -> None:
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = self.health()
                if last.status_code == 200:
                    return
            except httpx.TransportError as error:
                last = error
            time.sleep(0.1)
        raise AssertionError(f"/healthz never turned 200: {getattr(last, 'text', last)}")

    def create_job(self, name: str, program: dict[str, Any], **fields: Any) -> str:
        body = {"name": name, "job_type": "command", "program": program, **fields}
        response = self.client.post("/api/jobs", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def run_now(self, job_id: str) -> str:
        response = self.client.post(f"/api/jobs/{job_id}/runs", json={})
        assert response.status_code == 202, response.text
        return str(response.json()["run_id"])

    def run(self, run_id: str) -> dict[str, Any]:
        response = self.client.get(f"/api/runs/{run_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_run(self, run_id: str, done: Callable[[dict[str, Any]], bool], timeout: float):
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            response = self.client.get(f"/api/runs/{run_id}")
            if response.status_code == 200:
                last = response.json()
                if done(last):
                    return last
            time.sleep(0.2)
        raise AssertionError(f"run {run_id} never got there: {last}")


@pytest.fixture
def start_api(start: Starter, env: dict[str, str]) -> Iterator[Callable[[], tuple[Process, Api]]]:
    """Start `jobledger api` with an administrator token; its client is closed afterwards."""
    clients: list[httpx.Client] = []

    def start_api() -> tuple[Process, Api]:
        port = free_port()
        token = admin_token(env)
        process = start("api", "api", "--host", "127.0.0.1", "--port", str(port))
        api = Api(port, token)
        clients.append(api.client)
        api.wait_healthy(time.monotonic() + 60)
        return process, api

    yield start_api
    for client in clients:
        client.close()


def timed_health(api: Api) -> tuple[int, float]:
    began = time.monotonic()
    status = api.health(timeout=10).status_code
    return status, time.monotonic() - began


def seconds_until_503(api: Api, limit: float) -> float:
    began = time.monotonic()
    while time.monotonic() - began < limit:
        try:
            if api.health(timeout=limit).status_code == 503:
                return time.monotonic() - began
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"/healthz did not turn 503 within {limit} s")


def write_until_readable(api: Api, name: str, deadline: float) -> float:
    """POST a job until it is accepted (a 503 wrote nothing), then GET it; seconds taken."""
    began = time.monotonic()
    while True:
        response = api.client.post(
            "/api/jobs", json={"name": name, "job_type": "command", "program": {"argv": ["true"]}}
        )
        if response.status_code == 201:
            job_id = response.json()["id"]
            break
        assert response.status_code in (503, 507), response.text
        assert "Retry-After" in response.headers, response.headers
        assert time.monotonic() < deadline, f"writes still refused: {response.text}"
        time.sleep(0.1)
    while api.client.get(f"/api/jobs/{job_id}").status_code != 200:
        assert time.monotonic() < deadline, "the new job never became readable"
        time.sleep(0.1)
    listed = api.client.get("/api/jobs", params={"name_prefix": name}).json()
    names = [job["name"] for job in listed["items"]]
    assert names.count(name) == 1, f"a write that answered 503 was stored anyway: {names}"
    return time.monotonic() - began


def test_every_process_rides_out_a_stop_a_restart_and_a_crash_of_postgres(
    cluster: PgCluster, start: Starter, start_api: Callable[[], tuple[Process, Api]]
) -> None:
    api_process, api = start_api()
    others = [
        start("projections", "projections"),
        start("scheduler", "scheduler"),
        start("worker", "worker", "--concurrency", "2", *LEASE),
    ]
    ready_by = time.monotonic() + 60
    others[1].wait_for_output("scheduler started", ready_by)
    others[2].wait_for_output("JobLedger worker ", ready_by)
    everyone = [api_process, *others]
    job_id = api.create_job("before", {"argv": ["true"]})

    faults: list[tuple[str, Callable[[], None]]] = [
        ("stop", cluster.stop),
        ("crash", cluster.kill_postmaster),
        ("restart", cluster.restart),
    ]
    for fault, inflict in faults:
        inflict()
        if fault != "restart":
            # While it is down: the truth, at once, and no request hangs or resets.
            assert seconds_until_503(api, HEALTH_WITHIN + 1) <= HEALTH_WITHIN
            with ThreadPoolExecutor(max_workers=45) as pool:
                checks = list(pool.map(lambda _: timed_health(api), range(45)))
            assert {status for status, _ in checks} == {503}, checks
            slowest = max(took for _, took in checks)
            assert slowest < HEALTH_WITHIN + 0.5, f"45 health checks at once: {slowest:.1f} s"
            began = time.monotonic()
            listed = api.client.get("/api/jobs")
            took = time.monotonic() - began
            assert listed.status_code == 503 and "Retry-After" in listed.headers, listed.text
            assert took < 5, f"a query took {took:.1f} s to say the store is away"
            problem = api.health().json()
            assert problem["status"] == "unavailable" and "store" in str(problem), problem
            cluster.start()
        readable_in = write_until_readable(api, f"after {fault}", time.monotonic() + 30)
        assert readable_in <= READABLE_WITHIN, f"readable {readable_in:.1f} s after the {fault}"
        api.wait_healthy(time.monotonic() + READABLE_WITHIN)
        run_id = api.run_now(job_id)
        finished = api.wait_run(run_id, lambda r: r["status"] not in ("queued", "running"), 30)
        assert finished["status"] == "succeeded", finished
        dead = [p.tail() for p in everyone if not p.alive()]
        assert not dead, f"after the {fault}: " + "\n".join(dead)

    for process in everyone:
        tracebacks = process.errors().count("Traceback")
        assert tracebacks <= len(faults), f"{process.name}: {tracebacks} tracebacks\n" + (
            process.tail(40)
        )


@pytest.fixture
def api(start: Starter, start_api: Callable[[], tuple[Process, Api]]) -> Api:
    """The API and a projections process, as the README's deployment starts them."""
    _, started = start_api()
    start("projections", "projections")
    return started


def test_a_run_in_progress_when_postgres_restarts_runs_once_and_succeeds(
    cluster: PgCluster, start: Starter, api: Api, job_dir: Path
) -> None:
    # The default lease (20 s) outlasts the restart: the worker keeps its run.
    worker = start("worker", "worker", "--concurrency", "2")
    worker.wait_for_output("JobLedger worker ", time.monotonic() + 60)
    marker = job_dir / "marker"  # the job runs as an unprivileged user
    script = f"echo start >> {marker}; sleep 8; echo end >> {marker}"
    job_id = api.create_job("slow", {"argv": ["sh", "-c", script]}, max_retries=2)
    run_id = api.run_now(job_id)
    deadline = time.monotonic() + 30
    while not (marker.exists() and "start" in marker.read_text()):
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.1)
    cluster.restart()
    finished = api.wait_run(run_id, lambda r: r["status"] not in ("queued", "running"), 60)
    assert finished["status"] == "succeeded", finished
    assert marker.read_text().split() == ["start", "end"], "the job ran more than once"
    runs = api.client.get("/api/runs", params={"job_id": job_id}).json()
    assert [r["id"] for r in runs["items"]] == [run_id], runs
    assert worker.alive(), worker.tail()


def test_a_partitioned_worker_stops_its_run_before_another_worker_retries_it(
    cluster: PgCluster, env: dict[str, str], start: Starter, api: Api, job_dir: Path
) -> None:
    proxy = TcpProxy(cluster.port)
    try:
        cut_off_env = dict(env)
        cut_off_env["JOBLEDGER_DATABASE_URL"] = env["JOBLEDGER_DATABASE_URL"].replace(
            f":{cluster.port}/", f":{proxy.port}/"
        )
        lonely = start("worker-a", "worker", *LEASE, env=cut_off_env)
        line = lonely.wait_for_output("JobLedger worker ", time.monotonic() + 60)
        lonely_id = line.split("JobLedger worker ", 1)[1].split()[0]
        marker = job_dir / "marker"  # the job runs as an unprivileged user
        # The first attempt runs until it is stopped and says when; a retry says when it began.
        script = (
            f'if [ -s {marker} ]; then echo "retry $(date +%s.%N)" >> {marker}; exit 0; fi; '
            f'echo "first $(date +%s.%N)" >> {marker}; '
            f"trap 'echo \"stopped $(date +%s.%N)\" >> {marker}; exit 143' TERM; "
            "sleep 300 & wait $!"
        )
        job_id = api.create_job(
            "partitioned",
            {"argv": ["sh", "-c", script]},
            max_retries=1,
            retry_backoff_seconds=0,
        )
        run_id = api.run_now(job_id)
        api.wait_run(run_id, lambda r: r["status"] == "running", 30)
        helper = start("worker-b", "worker", *LEASE)
        helper.wait_for_output("JobLedger worker ", time.monotonic() + 60)

        proxy.blackhole()
        deadline = time.monotonic() + 60
        while "retry" not in (marker.read_text() if marker.exists() else ""):
            assert time.monotonic() < deadline, f"no retry ran\n{lonely.tail()}\n{helper.tail()}"
            time.sleep(0.2)
        events = dict(line.split() for line in marker.read_text().splitlines())
        assert set(events) == {"first", "stopped", "retry"}, events
        assert float(events["stopped"]) < float(events["retry"]), events

        proxy.heal()
        lonely.wait_for_output("answers again", time.monotonic() + 30)
        assert lonely.alive() and helper.alive()
        first = api.wait_run(run_id, lambda r: r["status"] != "running", 30)
        assert first["status"] == "abandoned" and first["worker"] == lonely_id, first
        # The worker that was cut off works again: with the other stopped, it takes a run.
        helper.signal(signal.SIGTERM)
        assert helper.wait_exit(40) == 0, helper.tail()
        marker.unlink()
        again = api.run_now(job_id)
        # The marker is gone, so this run is a "first" attempt again: stop it by cancel.
        running = api.wait_run(again, lambda r: r["status"] == "running", 30)
        assert running["worker"] == lonely_id, running
        assert api.client.post(f"/api/runs/{again}/cancel").status_code in (200, 202)
        api.wait_run(again, lambda r: r["status"] == "cancelled", 30)
    finally:
        proxy.close()


def test_four_workers_two_schedulers_and_projections_start_at_once_on_a_fresh_database(
    fresh_env: dict[str, str], tmp_path: Path
) -> None:
    with processes(fresh_env, tmp_path) as start:
        # Before the store is set up, a process refuses rather than make one of its own;
        # then three `init`s race to create the tables, under the set-up lock.
        refused = start("early-worker", "worker")
        assert refused.wait_exit(60) == 1, refused.tail()
        assert "no JobLedger store" in refused.errors()
        inits = [start(f"init-{i}", "init") for i in range(3)]
        assert [p.wait_exit(120) for p in inits] == [0, 0, 0], [p.tail() for p in inits]
        start_everything_at_once(start)


def start_everything_at_once(start: Starter) -> None:
    """Every process kind at once on one store (each sets up what it lacks, under the lock)."""
    commands = [("worker", f"worker-{i}") for i in range(4)]
    commands += [("scheduler", f"scheduler-{i}") for i in range(2)]
    commands += [("projections", "projections")]
    started = [start(name, command) for command, name in commands]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        dead = [p.tail() for p in started if not p.alive()]
        assert not dead, "\n".join(dead)
        time.sleep(0.2)
    for process in started:
        if process.name.startswith("worker"):
            process.wait_for_output("JobLedger worker ", time.monotonic() + 30)
