"""Benchmark: the HTTP API's read side under concurrent load, on PostgreSQL.

JobLedger: `jobledger api` (one uvicorn process, as shipped) over a store holding 10,000
jobs, 1,000,000 runs and a run whose log has 1,000,000 entries (at --scale 1). The load
generator (bench.http_load, in this process) keeps 32 keep-alive connections busy for 10 s
per query after a warm-up, and records each request's latency, the server process's CPU
time per request, and the plan of the query's SQL. Queries:

- GET /api/jobs/{id}, over 1,000 different jobs, with 8 and with 32 connections: the goal
  is >= 2,000 requests/s with p99 < 20 ms on 2 cores.
- GET /api/jobs: the first page and a deep page (the cursor at 90% of the names).
- GET /api/runs?job_id=: the first and a deep page of the busiest job's runs, once with
  10,000 runs in the view and again with 1,000,000: keyset pagination should keep both flat.
- GET /api/runs/{id}/logs: an early page (after=0) and a late one (near the end) of the
  1,000,000-entry log.

Baseline, for each query, in the same run: the SQL the view (and route) runs, through raw
psycopg, by as many asyncio tasks over a pool sized as each view's (4 + 8 overflow); so the
gap between the two is what the HTTP, auth and JSON layers cost.

On 2 cores the load generator, the server process and PostgreSQL share the CPUs, so both
figures are lower than on a machine where the client runs elsewhere.

Seeding (not timed): the jobs are registered through the application (events, then the
projections' catch-up), as users would. The runs and log entries are written straight into
the views' tables (view_runs, view_log_entries) with binary COPY: these GETs read only those
tables, and the figures are about the cost of reading them, not of writing them (the
log_entries and rebuild benchmarks measure that). The jobs' last-run columns are then set
from the seeded runs, as the jobs projection would have, and the tables ANALYZEd, as
autovacuum would have.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from psycopg.sql import SQL, Composed, Identifier

from adapters.event_store_config import conninfo, parse_database_url
from adapters.keyset import keyset_query
from adapters.postgres_views import jobs as jobs_sql
from adapters.postgres_views import logs as logs_sql
from adapters.postgres_views import runs as runs_sql
from adapters.store_backend import backend_for
from bench.common import (
    DEFAULT_PG_URL,
    BenchStore,
    Result,
    build_system,
    env_pg_url,
    pg_url_with_schema,
    progress,
    scaled,
)
from bench.http_load import get_request, http_load, sql_load
from projections.jobs import jobs_cursor
from projections.runs import RUN_COLUMNS, runs_cursor

N_JOBS = 10_000
N_RUNS_SMALL = 10_000
N_RUNS_LARGE = 1_000_000
N_LOG_ENTRIES = 1_000_000
CONCURRENCY = 32
# Server processes of `jobledger api` (the README's advice: one per core). Override with
# JOBLEDGER_BENCH_API_PROCESSES=1 to see what one interpreter serves.
API_PROCESSES = int(os.environ.get("JOBLEDGER_BENCH_API_PROCESSES", "2"))
# The single-job GET is also measured with fewer connections: in a closed loop, mean
# latency is connections / throughput, so 32 connections at 2,000 req/s already mean 16 ms.
JOB_CONCURRENCY = (8, CONCURRENCY)
# The baseline's pool is sized as each view's pool in the server (event_store_env: eventsourcing's
# POSTGRES_POOL_SIZE and POSTGRES_MAX_OVERFLOW), so both sides may open as many connections;
# a pool of 32 would also crowd the shared server's max_connections.
_POOL_ENV = backend_for(parse_database_url(DEFAULT_PG_URL)).event_store_env()
POOL_SIZE = int(_POOL_ENV["POSTGRES_POOL_SIZE"])
POOL_OVERFLOW = int(_POOL_ENV["POSTGRES_MAX_OVERFLOW"])
SECONDS = 10.0
PAGE = 50  # the API's default page of jobs and runs
LOG_PAGE = 100  # the API's default page of log entries
GOAL_RPS = 2_000.0
GOAL_P99_MS = 20.0
# The busiest job (say, every minute) holds this share of all runs; the others share the
# rest with Zipf-like weights, as a few frequent jobs and many daily ones would.
HOT_SHARE = 0.05
HISTORY = timedelta(days=60)
HOST = "127.0.0.1"
ACTOR = "bench@example.com"


@dataclass
class LatencyResult(Result):
    """A row whose goal is a rate and a p99 latency bound both."""

    p99_ms: float | None = None
    p99_goal_ms: float | None = None

    @property
    def met(self) -> bool | None:
        rate_met = super().met
        if rate_met is None or self.p99_goal_ms is None or self.p99_ms is None:
            return rate_met
        return rate_met and self.p99_ms < self.p99_goal_ms


@dataclass
class Query:
    """One measured GET and its baseline: the statements the route runs for it."""

    label: str
    n: int  # the size of the data set it reads
    paths: list[str]
    statements: list[list[tuple[Composed, Sequence[Any]]]]
    goal: bool = False
    concurrency: int = CONCURRENCY


def run(bench: BenchStore, scale: float) -> list[Result]:
    if bench.kind != "postgres":
        return [
            Result(
                benchmark="http_api",
                store=bench.kind,
                n=0,
                unit="req/s",
                figure=None,
                baseline_label="-",
                notes="skipped: the HTTP API benchmark runs on PostgreSQL only",
            )
        ]
    n_jobs = scaled(N_JOBS, scale, 20)
    n_small = scaled(N_RUNS_SMALL, scale, 2_000)
    n_large = max(n_small, scaled(N_RUNS_LARGE, scale, 20_000))
    n_entries = scaled(N_LOG_ENTRIES, scale, 1_000)
    seconds = max(1.0, SECONDS * scale)
    warmup = min(2.0, max(0.5, 2.0 * scale))
    schema = bench.schema
    assert schema is not None
    rng = random.Random(20261125)

    started = time.perf_counter()
    job_ids = seed_jobs(bench, n_jobs)
    viewer_token = create_tokens(bench)
    seed_seconds = time.perf_counter() - started
    progress(f"  {n_jobs:,} jobs registered and projected in {seed_seconds:.1f}s")

    hot_job = job_ids[0]
    runs = RunMaker(bench, job_ids, hot_job, n_large, rng)
    t0 = time.perf_counter()
    runs.copy(0, n_small)
    finish_seeding(bench)
    progress(f"  {n_small:,} runs copied in {time.perf_counter() - t0:.1f}s")

    results: list[Result] = []
    with api_server(bench) as (port, pid):
        check_api(port, viewer_token, hot_job)
        for query in runs_queries(bench, hot_job, n_small):
            results.append(measure(query, port, pid, viewer_token, bench, seconds, warmup))

        t0 = time.perf_counter()
        runs.copy(n_small, n_large)
        log_run = seed_log(bench, hot_job, n_entries)
        finish_seeding(bench)
        progress(
            f"  {n_large:,} runs and {n_entries:,} log entries in place "
            f"({time.perf_counter() - t0:.1f}s)"
        )
        queries = [
            *runs_queries(bench, hot_job, n_large),
            *job_queries(bench, job_ids, n_jobs, rng),
            *jobs_queries(bench, n_jobs),
            *log_queries(bench, log_run, n_entries),
        ]
        for query in queries:
            results.append(measure(query, port, pid, viewer_token, bench, seconds, warmup))

    first = results[0]
    first.notes += (
        f"; seeding {n_jobs:,} jobs through the app took {seed_seconds:.1f}s; "
        f"server: `jobledger api --workers {API_PROCESSES}`; "
        f"client: {CONCURRENCY} connections in this process"
    )
    for result in results:
        result.extra["seed_jobs_seconds"] = seed_seconds
    return results


# Seeding.


SCHEDULES = [
    {"cron": "* * * * *", "timezone": "UTC"},
    {"cron": "*/5 * * * *", "timezone": "UTC"},
    {"cron": "0 * * * *", "timezone": "UTC"},
    {"cron": "0 2 * * *", "timezone": "Europe/Berlin"},
    {"cron": "30 6 * * 1-5", "timezone": "America/New_York"},
    {"cron": "0 */4 * * *", "timezone": "UTC"},
    {"cron": "15 3 1 * *", "timezone": "Asia/Tokyo"},
    None,  # run on demand only
]
TEAMS = ["billing", "data", "ops", "reports", "search", "web"]
PURPOSES = ["backup", "export", "cleanup", "sync", "rollup", "reindex", "mailer"]


def job_args(i: int) -> dict[str, Any]:
    """A varied job: names interleave across teams, so name order is not insert order."""
    team = TEAMS[(i * 7) % len(TEAMS)]
    purpose = PURPOSES[(i * 3) % len(PURPOSES)]
    args: dict[str, Any] = {
        "name": f"{team}-{purpose}-{i:05d}",
        "job_type": "command",
        "program": {"argv": ["/usr/local/bin/" + purpose, "--shard", str(i % 97)]},
        "actor": ACTOR,
        "description": f"{purpose.title()} for the {team} team, shard {i % 97}",
        "parameters": {"region": "eu-west-1", "retention_days": 30, "shard": i % 97},
        "schedule": SCHEDULES[0] if i == 0 else SCHEDULES[i % len(SCHEDULES)],
        "log_level": "Info",
    }
    if i % 20 == 0:
        args["secrets"] = {"api_token": "s3cr3t-api-token-0123456789abcdef"}
    return args


def seed_jobs(bench: BenchStore, n: int) -> list[uuid.UUID]:
    """Register `n` jobs through the application and project them (the views' tables are
    created here too). Returns their ids; the first is the busiest job."""
    system = build_system(bench)
    try:
        ids = []
        for i in range(n):
            ids.append(system.app.register_job(**job_args(i)).id)
            if (i + 1) % 2_500 == 0:
                progress(f"  registered {i + 1:,}/{n:,} jobs")
        while system.catch_up():
            pass
        return ids
    finally:
        system.close()


def create_tokens(bench: BenchStore) -> str:
    """A viewer token for the load (read-only, as a dashboard would use) and an admin one,
    so `jobledger api` has no first administrator to announce. Only the viewer token is
    returned; neither is printed or written anywhere."""
    tokens = bench.backend.token_store()
    try:
        tokens.create("bench-admin", "admin")
        return tokens.create("bench-viewer", "viewer")[1]
    finally:
        tokens.close()


RUN_TYPES = [
    *("uuid", "uuid", "text", "int4", "text", "text", "text", "timestamptz", "timestamptz"),
    *("text", "timestamptz", "timestamptz", "int4", "text", "int4", "uuid", "text", "text"),
    *("int4", "text", "int4", "int4", "jsonb", "jsonb"),
    *("uuid", "timestamptz", "int8"),  # rerun_of, log_purged_at, log_purged_entries
]
FINISHED = [
    *(["succeeded"] * 180),
    *(["failed"] * 12),
    *(["timed_out"] * 3),
    *(["cancelled"] * 2),
    *(["skipped"] * 2),
    "abandoned",
]


class RunMaker:
    """The rows of `n` runs, oldest first over the last 60 days; any range of them is
    copied into view_runs on demand (the first 10,000, then the rest)."""

    def __init__(
        self,
        bench: BenchStore,
        job_ids: list[uuid.UUID],
        hot_job: uuid.UUID,
        n: int,
        rng: random.Random,
    ) -> None:
        self.bench = bench
        self.n = n
        self.rng = rng
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.start = self.now - HISTORY
        self.step = HISTORY / n
        others = [job for job in job_ids if job != hot_job]
        weights = [1.0 / (rank + 1) for rank in range(len(others))]
        rng.shuffle(others)
        total = sum(weights)
        self.jobs = [hot_job, *others]
        self.cum_weights = list(
            itertools.accumulate([HOT_SHARE, *((1 - HOT_SHARE) * w / total for w in weights)])
        )
        self.names = self._names()

    def _names(self) -> dict[uuid.UUID, str]:
        with self.bench.pg_connect(autocommit=True) as conn:
            return {row[0]: row[1] for row in conn.execute("SELECT id, name FROM view_jobs")}

    def rows(self, first: int, end: int) -> Iterator[tuple[Any, ...]]:
        rng = self.rng
        jobs = rng.choices(self.jobs, cum_weights=self.cum_weights, k=end - first)
        for i, job_id in zip(range(first, end), jobs, strict=True):
            requested = self.start + self.step * i + timedelta(milliseconds=rng.randrange(900))
            kind = rng.random()
            trigger, requested_by = "schedule", "scheduler"
            scheduled_for: datetime | None = requested.replace(second=0, microsecond=0)
            attempt, retry_of = 1, None
            if kind < 0.10:
                trigger, scheduled_for, requested_by = "manual", None, "alice@example.com"
            elif kind < 0.13:
                trigger, attempt, retry_of = "retry", 2, uuid.UUID(int=rng.getrandbits(128))
            started: datetime | None = None
            finished: datetime | None = None
            exit_code: int | None = None
            error = worker = cancelled_by = None
            version = 1
            if i >= self.n - 20:  # the newest few are still queued or running
                status = "queued" if i >= self.n - 5 else "running"
            else:
                status = FINISHED[rng.randrange(len(FINISHED))]
            if status not in ("queued", "skipped"):
                started = requested + timedelta(milliseconds=rng.randrange(50, 2_000))
                worker = f"worker-{rng.randrange(8)}"
                version = 2
            if started is not None and status != "running":
                finished = started + timedelta(seconds=rng.expovariate(1 / 60))
                version = 3
                exit_code = {"succeeded": 0, "failed": 1}.get(status)
                if status == "failed":
                    error = "exit status 1: connection refused by db-07.internal:5432"
                elif status == "timed_out":
                    error = "ran past its timeout of 3600 s"
                elif status == "abandoned":
                    error = "worker worker-3 stopped answering"
            if status == "cancelled":
                cancelled_by = "alice@example.com"
            yield (
                uuid.UUID(int=rng.getrandbits(128)),
                job_id,
                self.names[job_id],
                1,
                "command",
                trigger,
                status,
                scheduled_for,
                requested,
                requested_by,
                started,
                finished,
                exit_code,
                error,
                attempt,
                retry_of,
                worker,
                "Info",
                3600,
                cancelled_by,
                version,
                0,  # discarded_entries
                {"tenant": "acme", "batch": 500},  # parameters
                [],  # overrides
                None,  # rerun_of
                None,  # log_purged_at
                None,  # log_purged_entries
            )

    def copy(self, first: int, end: int) -> None:
        query = SQL("COPY view_runs ({}) FROM STDIN (FORMAT BINARY)").format(
            SQL(", ").join(Identifier(c) for c in RUN_COLUMNS)
        )
        with self.bench.pg_connect() as conn, conn.cursor() as cursor:
            with cursor.copy(query) as copy:
                copy.set_types(RUN_TYPES)
                for row in self.rows(first, end):
                    copy.write_row(row)
            conn.commit()


def seed_log(bench: BenchStore, job_id: uuid.UUID, n: int) -> uuid.UUID:
    """`n` entries (mixed levels, 60-80 characters) for the busiest job's newest finished
    run; returns the run's id."""
    from bench.log_entries import make_entries
    from domain.run_log import run_log_id

    with bench.pg_connect(autocommit=True) as conn:
        row = conn.execute(
            "SELECT id, started_at FROM view_runs WHERE job_id = %s AND status = 'succeeded'"
            " ORDER BY requested_at DESC, id DESC LIMIT 1",
            (job_id,),
        ).fetchone()
    assert row is not None, "the busiest job has no succeeded run"
    run_id, started = row
    log_id = run_log_id(run_id)
    texts = make_entries(4_096)  # the messages and levels; times are made below
    step = timedelta(microseconds=997)
    with bench.pg_connect() as conn, conn.cursor() as cursor:
        with cursor.copy(
            "COPY view_log_entries (log_id, seq, at, level, message) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(logs_sql.COPY_TYPES)
            for seq in range(1, n + 1):
                _at, level, message = texts[(seq * 2_654_435_761) % 4_096]
                copy.write_row((log_id, seq, started + step * seq, int(level), message))
        conn.commit()
    return run_id


def finish_seeding(bench: BenchStore) -> None:
    """What the projections and autovacuum would have done: each job's last run, and the
    planner's statistics."""
    with bench.pg_connect(autocommit=True) as conn:
        conn.execute(
            "UPDATE view_jobs AS j SET last_run_id = r.id, last_run_status = r.status,"
            " last_run_at = r.requested_at"
            " FROM (SELECT DISTINCT ON (job_id) job_id, id, status, requested_at"
            "       FROM view_runs ORDER BY job_id, requested_at DESC, id DESC) AS r"
            " WHERE j.id = r.job_id"
        )
        conn.execute("VACUUM ANALYZE view_jobs")
        conn.execute("VACUUM ANALYZE view_runs")
        conn.execute("VACUUM ANALYZE view_log_entries")


# The queries and their baselines.


def composed(template: str, schema: str) -> Composed:
    return SQL(template).format(s=Identifier(schema))  # type: ignore[arg-type]


def job_queries(
    bench: BenchStore, job_ids: list[uuid.UUID], n: int, rng: random.Random
) -> list[Query]:
    """GET /api/jobs/{id} over 1,000 different jobs, with 8 and with 32 connections."""
    assert bench.schema is not None
    sample = rng.sample(job_ids, min(1_000, len(job_ids)))
    select_one = composed(jobs_sql.QUERIES["select_one"], bench.schema)
    return [
        Query(
            label=f"GET /api/jobs/{{id}}, {concurrency} connections",
            n=n,
            paths=[f"/api/jobs/{job_id}" for job_id in sample],
            statements=[[(select_one, (job_id,))] for job_id in sample],
            goal=True,
            concurrency=concurrency,
        )
        for concurrency in JOB_CONCURRENCY
    ]


def jobs_queries(bench: BenchStore, n: int) -> list[Query]:
    assert bench.schema is not None
    with bench.pg_connect(autocommit=True) as conn:
        row = conn.execute(
            "SELECT name, id FROM view_jobs ORDER BY name, id OFFSET %s LIMIT 1", (n * 9 // 10,)
        ).fetchone()
    assert row is not None
    cursor = jobs_cursor({"name": row[0], "id": row[1]})
    first = composed(jobs_sql.SELECT + jobs_sql.ORDER, bench.schema)
    deep = composed(
        jobs_sql.SELECT + " WHERE " + jobs_sql.WHERE["cursor"] + jobs_sql.ORDER, bench.schema
    )
    return [
        Query(
            label="GET /api/jobs first page",
            n=n,
            paths=[f"/api/jobs?limit={PAGE}"],
            statements=[[(first, (PAGE + 1,))]],
        ),
        Query(
            label="GET /api/jobs deep page (90%)",
            n=n,
            paths=["/api/jobs?" + urlencode({"limit": PAGE, "cursor": cursor})],
            statements=[[(deep, (row[0], row[1], PAGE + 1))]],
        ),
    ]


def runs_queries(bench: BenchStore, job_id: uuid.UUID, n: int) -> list[Query]:
    """The first page of the job's runs, and the page at 90% of them."""
    assert bench.schema is not None
    with bench.pg_connect(autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        (count,) = conn.execute(  # type: ignore[misc]
            "SELECT count(*) FROM view_runs WHERE job_id = %s", (job_id,)
        ).fetchone()
        row = conn.execute(
            "SELECT requested_at, id FROM view_runs WHERE job_id = %s"
            " ORDER BY requested_at DESC, id DESC OFFSET %s LIMIT 1",
            (job_id, count * 9 // 10),
        ).fetchone()
    assert row is not None
    cursor = runs_cursor({"requested_at": row[0], "id": row[1]})
    filters = {"job_id": job_id, "status": None, "since": None, "until": None}
    queries = []
    for label, after, extra in (
        ("first page", None, {}),
        (f"deep page (90% of {count:,})", [row[0], row[1]], {"cursor": cursor}),
    ):
        sql, params = keyset_query(runs_sql.SELECT, runs_sql.WHERE, filters, after, runs_sql.ORDER)
        path = "/api/runs?" + urlencode({"job_id": str(job_id), "limit": PAGE, **extra})
        queries.append(
            Query(
                label=f"GET /api/runs?job_id= {label}, {n:,} runs",
                n=n,
                paths=[path],
                statements=[[(composed(sql, bench.schema), (*params, PAGE + 1))]],
            )
        )
    return queries


def log_queries(bench: BenchStore, run_id: uuid.UUID, n: int) -> list[Query]:
    """An early and a late page of the log. The route reads the run first (404 for an
    unknown run), so the baseline runs both statements too."""
    from domain.run_log import run_log_id

    assert bench.schema is not None
    get_run = composed(runs_sql.QUERIES["select_one"], bench.schema)
    page = composed(logs_sql.QUERIES["select"], bench.schema)
    queries = []
    for label, after in (("early page", 0), ("late page", n - 10 * LOG_PAGE)):
        queries.append(
            Query(
                label=f"GET /api/runs/{{id}}/logs {label} (after={after:,})",
                n=n,
                paths=[f"/api/runs/{run_id}/logs?after={after}&limit={LOG_PAGE}"],
                statements=[
                    [
                        (get_run, (run_id,)),
                        (page, (run_log_id(run_id), after, 0, LOG_PAGE + 1)),
                    ]
                ],
            )
        )
    return queries


# Measuring.


def measure(
    query: Query,
    port: int,
    pid: int,
    token: str,
    bench: BenchStore,
    seconds: float,
    warmup: float,
) -> Result:
    load_before = os.getloadavg()[0]
    requests = [get_request(HOST, port, path, token) for path in query.paths]
    server_cpu, client_cpu = cpu_seconds(pid), time.process_time()
    api = http_load(
        HOST, port, requests, concurrency=query.concurrency, seconds=seconds, warmup=warmup
    )
    server_us = (cpu_seconds(pid) - server_cpu) / max(1, api.total) * 1e6
    client_us = (time.process_time() - client_cpu) / max(1, api.total) * 1e6
    if api.errors:
        raise AssertionError(f"{query.label}: {api.errors} responses were not 200")
    raw = sql_load(
        conninfo(bench.store),
        query.statements,
        concurrency=query.concurrency,
        seconds=seconds,
        warmup=warmup,
        pool_size=POOL_SIZE,
        max_pool_size=POOL_SIZE + POOL_OVERFLOW,
    )
    load_after = os.getloadavg()[0]
    plans = explain(bench, query.statements[0])
    progress(f"  {query.label}: HTTP {api.describe('req/s')}; SQL {raw.describe('q/s')}")
    return LatencyResult(
        benchmark=f"http_api {query.label}",
        store=bench.kind,
        n=query.n,
        unit="req/s",
        figure=api.per_second,
        baseline=raw.per_second,
        baseline_label=(
            f"the same SQL through raw psycopg ({query.concurrency} asyncio tasks, a pool of "
            f"{POOL_SIZE}+{POOL_OVERFLOW} as each view has): "
            f"p50 {raw.p50_ms:.1f} ms, p99 {raw.p99_ms:.1f} ms"
        ),
        goal=GOAL_RPS if query.goal else None,
        seconds=api.seconds,
        baseline_seconds=raw.seconds,
        notes=(
            f"HTTP p50 {api.p50_ms:.1f} ms, p99 {api.p99_ms:.1f} ms"
            + (f" (goal p99 < {GOAL_P99_MS:.0f} ms)" if query.goal else "")
            + f"; CPU per request: server {server_us:,.0f} us, load generator {client_us:,.0f} us"
            + f"; plan: {'; '.join(plan['summary'] for plan in plans)}"
            + f"; load average {load_before:.2f} -> {load_after:.2f}"
        ),
        extra={
            "http": api.to_json(),
            "sql": raw.to_json(),
            "plans": plans,
            # CPU over every request, warm-up included.
            "server_cpu_us_per_request": server_us,
            "client_cpu_us_per_request": client_us,
            "load_1min": [load_before, load_after],
        },
        p99_ms=api.p99_ms,
        p99_goal_ms=GOAL_P99_MS if query.goal else None,
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and its live children (the server
    processes of `jobledger api --workers N`), from Linux /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            with contextlib.suppress(OSError):
                total += cpu_seconds(int(child))
    return total


def explain(
    bench: BenchStore, statements: Sequence[tuple[Composed, Sequence[Any]]]
) -> list[dict[str, Any]]:
    """Each statement's plan as the server runs it: the top scan, its execution time and
    the pages it touched (flat pages read the same few pages at 10k and at 1M rows)."""
    plans = []
    with bench.pg_connect(autocommit=True) as conn:
        for query, params in statements:
            row = conn.execute(
                SQL("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ") + query, params
            ).fetchone()
            assert row is not None
            plan = row[0][0]
            node = plan["Plan"]
            while node.get("Plans") and "Index Name" not in node:
                node = node["Plans"][0]
            buffers = plan["Plan"].get("Shared Hit Blocks", 0) + plan["Plan"].get(
                "Shared Read Blocks", 0
            )
            scan = node["Node Type"] + (f" on {node['Index Name']}" if "Index Name" in node else "")
            plans.append(
                {
                    "scan": scan,
                    "execution_ms": plan["Execution Time"],
                    "buffers": buffers,
                    "summary": f"{scan}, {plan['Execution Time']:.2f} ms, {buffers} pages",
                }
            )
    return plans


def check_api(port: int, token: str, job_id: uuid.UUID) -> None:
    """The server answers the measured GETs with what the benchmark expects."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"http://{HOST}:{port}", headers=headers) as client:
        job = client.get(f"/api/jobs/{job_id}")
        job.raise_for_status()
        if job.json()["id"] != str(job_id):
            raise AssertionError(f"GET /api/jobs/{job_id} returned another job")
        page = client.get("/api/runs", params={"job_id": str(job_id), "limit": PAGE})
        page.raise_for_status()
        items = page.json()["items"]
        if not items or any(item["job_id"] != str(job_id) for item in items):
            raise AssertionError("the busiest job's first page of runs is not its runs")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def jobledger_command() -> list[str]:
    script = Path(sys.executable).parent / "jobledger"
    if script.exists():
        return [str(script)]
    return [
        sys.executable,
        "-c",
        "import sys; from interfaces.cli.main import main; sys.exit(main())",
    ]


@contextlib.contextmanager
def api_server(bench: BenchStore) -> Iterator[tuple[int, int]]:
    """`jobledger api` on a free port, in a process of its own, against the bench schema:
    yields (its port, its pid)."""
    assert bench.schema is not None
    port = free_port()
    env = {
        **os.environ,
        "JOBLEDGER_DATABASE_URL": pg_url_with_schema(env_pg_url(), bench.schema),
        "JOBLEDGER_DATA_DIR": str(bench.data_dir),
        "JOBLEDGER_MASTER_KEY": bench.master_key_text,
    }
    log_path = bench.data_dir / "api.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                *jobledger_command(),
                "api",
                "--host",
                HOST,
                "--port",
                str(port),
                "--workers",
                str(API_PROCESSES),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parent.parent,
        )
        try:
            wait_until_healthy(process, port, log_path)
            progress(f"  `jobledger api` (pid {process.pid}) listening on port {port}")
            yield port, process.pid
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_healthy(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2_000:]
            raise RuntimeError(f"`jobledger api` exited with {process.returncode}: {tail}")
        try:
            if httpx.get(f"http://{HOST}:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError("`jobledger api` did not answer /healthz within 60 s")
