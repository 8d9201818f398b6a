"""End-to-end throughput of trivial runs: requested, started, a few log lines, succeeded.

JobLedger: a requester saves run requests of one job in batches of 50 per transaction
(as the scheduler saves the runs that fall due together) while a worker on an application
of its own (as a `jobledger worker` process has), woken by LISTEN/NOTIFY, claims each run
(`Started`, one transaction), executes it with an in-process no-op executor that writes 3
Info lines (one log event, one transaction, through the real threshold / redaction /
batching sink) and records `Succeeded` (one transaction). The clock runs from the first
request to the last run recorded succeeded.

Baseline, in the same run on the same server: Procrastinate 3 (its psycopg connector, its
schema in a schema of its own) executing the same number of no-op async tasks with the
same concurrency, deferred in batches of 50 while its worker runs (LISTEN/NOTIFY on). It
records a job row per task (todo -> doing -> succeeded) and no log.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

from psycopg import sql

from bench.common import BenchStore, Result, progress, rate, scaled

N_RUNS = 5_000
BATCH = 50
CONCURRENCY = 32
GOAL = 500.0
LOG_LINES = 3


def _app(bench: BenchStore, pool_size: int) -> Any:
    """The application as the composition root builds it, with a pool for `pool_size`."""
    from adapters.job_types import EntryPointJobTypeCatalog
    from adapters.master_key import MasterKey
    from adapters.secret_vault import EnvelopeSecretVault
    from application.app import JobLedger

    keys = bench.backend.data_key_store()
    env = bench.backend.event_store_env(pool_size=pool_size, max_overflow=4)
    vault = EnvelopeSecretVault(keys, MasterKey.from_text(bench.master_key_text))
    app = JobLedger(vault=vault, job_types=EntryPointJobTypeCatalog(), env=env)
    return app, keys


class NoOp:
    """Logs a few lines and succeeds; counts executions."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.count = 0
        self.lock = threading.Lock()
        self.done = threading.Event()

    def execute(self, execution: Any, log: Any, stop: Any) -> Any:
        from domain.log_level import LogLevel
        from jobtypes import Outcome

        for i in range(LOG_LINES):
            log(LogLevel.Info, f"step {i} of run {execution.run_id}: ok")
        with self.lock:
            self.count += 1
            if self.count >= self.n:
                self.done.set()
        return Outcome(exit_code=0)


def measure_jobledger(bench: BenchStore, n: int) -> dict[str, Any]:
    from domain import run as run_model
    from interfaces.worker_runtime import start_worker

    requester, requester_keys = _app(bench, 2)
    if bench.kind == "postgres":
        worker_app, worker_keys = _app(bench, 4)
    else:
        worker_app, worker_keys = requester, None
    job = requester.register_job(
        name="throughput",
        job_type="command",
        program={"argv": ["true"]},
        actor="bench",
        log_level="Info",
        policies={"overlap": "allow"},
    )
    noop = NoOp(n)
    handle = start_worker(
        worker_app, bench.backend, executor_for=lambda _name: noop, concurrency=CONCURRENCY
    )
    try:
        started = time.perf_counter()
        for first in range(0, n, BATCH):
            runs = [
                run_model.request(
                    job_id=job.id,
                    job_version=job.version,
                    job_name=job.name,
                    job_type=job.job_type,
                    trigger="manual",
                    requested_by="bench",
                    parameters={"i": i},
                    log_level=job.log_level,
                    timeout_seconds=None,
                )
                for i in range(first, min(n, first + BATCH))
            ]
            requester.save(*runs)
        requested = time.perf_counter()
        if not noop.done.wait(600):
            raise RuntimeError(f"only {noop.count} of {n} runs executed in 600 s")
        if not handle.worker.wait_idle(60):
            raise RuntimeError("the worker did not finish recording its runs")
        seconds = time.perf_counter() - started
        worker = handle.worker
        claimed, lost = worker.claimed, worker.lost_claims
    finally:
        handle.stop(grace=10)
        if worker_keys is not None:
            worker_keys.close()
            worker_app.close()
        requester_keys.close()
        requester.close()
    return {
        "seconds": seconds,
        "request_seconds": requested - started,
        "claimed": claimed,
        "lost_claims": lost,
    }


def measure_procrastinate(bench: BenchStore, n: int) -> dict[str, Any]:
    import procrastinate

    from adapters.event_store_config import conninfo

    schema = f"{bench.schema}_pq"
    with bench.pg_connect(autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        connector = procrastinate.PsycopgConnector(
            conninfo=conninfo(bench.store),
            kwargs={"options": f"-c search_path={schema}"},
            min_size=2,
            max_size=CONCURRENCY + 2,  # its best case: no task waits for a connection
        )
        app = procrastinate.App(connector=connector)
        done = asyncio.Event()
        count = [0]

        @app.task(name="noop")
        async def noop(i: int) -> None:
            count[0] += 1
            if count[0] >= n:
                done.set()

        async def main() -> dict[str, Any]:
            async with app.open_async():
                await app.schema_manager.apply_schema_async()
                worker = asyncio.create_task(
                    app.run_worker_async(
                        concurrency=CONCURRENCY,
                        wait=True,
                        listen_notify=True,
                        install_signal_handlers=False,
                    )
                )
                started = time.perf_counter()
                for first in range(0, n, BATCH):
                    args: list[Any] = [{"i": i} for i in range(first, min(n, first + BATCH))]
                    await noop.batch_defer_async(*args)
                requested = time.perf_counter()
                await asyncio.wait_for(done.wait(), 600)
                # The last jobs' rows are marked succeeded just after their tasks return.
                while True:
                    rows = await connector.execute_query_all_async(
                        "SELECT count(*) AS n FROM procrastinate_jobs WHERE status = 'succeeded'"
                    )
                    if rows[0]["n"] >= n:
                        break
                    await asyncio.sleep(0.01)
                seconds = time.perf_counter() - started
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(worker, 30)
                return {"seconds": seconds, "request_seconds": requested - started}

        return asyncio.run(main())
    finally:
        with bench.pg_connect(autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def run(bench: BenchStore, scale: float) -> list[Result]:
    n = scaled(N_RUNS, scale, minimum=100)
    progress(f"run throughput: {n} trivial runs, worker concurrency {CONCURRENCY}")
    ours = measure_jobledger(bench, n)
    figure = rate(n, ours["seconds"])
    progress(f"JobLedger: {figure:,.0f} runs/s")
    baseline = None
    baseline_seconds = None
    label = "none on SQLite (Procrastinate needs PostgreSQL)"
    if bench.kind == "postgres":
        theirs = measure_procrastinate(bench, n)
        baseline_seconds = theirs["seconds"]
        baseline = rate(n, baseline_seconds)
        label = (
            f"Procrastinate {_version()}: the same number of no-op async tasks, "
            f"concurrency {CONCURRENCY}, deferred in batches of {BATCH} while its worker runs"
        )
        progress(f"Procrastinate: {baseline:,.0f} tasks/s")
    return [
        Result(
            benchmark="run_throughput",
            store=bench.kind,
            n=n,
            unit="runs/s",
            figure=figure,
            baseline=baseline,
            baseline_label=label,
            goal=GOAL if bench.kind == "postgres" else None,
            seconds=ours["seconds"],
            baseline_seconds=baseline_seconds,
            notes=(
                f"requested (batches of {BATCH}) -> started -> {LOG_LINES} log lines (one log "
                f"event) -> succeeded; one worker, concurrency {CONCURRENCY}, in-process no-op "
                f"executor; claims {ours['claimed']}, lost {ours['lost_claims']}"
            ),
            extra=ours,
        )
    ]


def _version() -> str:
    from importlib.metadata import version

    return version("procrastinate")
