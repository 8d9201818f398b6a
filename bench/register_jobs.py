"""Benchmark 1: registering jobs, one `app.register_job` call (so one commit) per job.

JobLedger: `register_job` with the `command` job type, a `*/5 * * * *` schedule and a few
parameters; once with no secrets and once with one secret per job (which also creates the
job's data key: a read and one more commit in the data-key table).

Baseline: the raw driver inserting rows of the same shape and size as the events those
calls store (originator id, version, topic, the same JSON state bytes) into a plain table
with the events table's keys, one autocommitted INSERT per job: one commit per job, the
physical limit of "every registration is durable before the call returns".
"""

from __future__ import annotations

import base64
import contextlib
import os
import time
import uuid
from typing import Any

from bench.common import BenchStore, Result, build_app, count_events, progress, rate, scaled

N_JOBS = 10_000
SECRET_VALUE = "s3cr3t-api-token-0123456789abcdef"  # 33 characters, like an API token


def job_args(i: int, *, with_secret: bool) -> dict[str, Any]:
    args: dict[str, Any] = {
        "name": f"bench-backup-{i:06d}",
        "job_type": "command",
        "program": {"argv": ["/usr/local/bin/backup", "--target", f"db-{i % 97:02d}"]},
        "actor": "bench@example.com",
        "description": "Nightly backup of one database shard to object storage",
        "parameters": {"region": "eu-west-1", "retention_days": 30, "shard": i},
        "schedule": {"cron": "*/5 * * * *"},
    }
    if with_secret:
        args["secrets"] = {"api_token": SECRET_VALUE}
    return args


def sample_rows(app: Any, *, with_secret: bool) -> list[tuple[str, bytes]]:
    """(topic, state) of the events one registration stores, encoded by the app's mapper."""
    from application.job_commands import parse_schedule
    from domain import job as job_model

    args = job_args(123_456, with_secret=False)
    job = job_model.register(
        name=args["name"],
        job_type=args["job_type"],
        program=args["program"],
        actor=args["actor"],
        description=args["description"],
        parameters=args["parameters"],
        schedule=parse_schedule(args["schedule"]),
    )
    if with_secret:
        # A ciphertext of exactly the size the vault produces: nonce + value + GCM tag.
        blob = os.urandom(12 + len(SECRET_VALUE.encode()) + 16)
        job.store_secret(
            "api_token", "v1." + base64.urlsafe_b64encode(blob).rstrip(b"=").decode(), args["actor"]
        )
    stored = [app.mapper.to_stored_event(e) for e in job.collect_events()]
    return [(s.topic, s.state) for s in stored]


def run_jobledger(bench: BenchStore, n: int, *, with_secret: bool) -> tuple[float, int]:
    bare = build_app(bench)
    try:
        app = bare.app
        app.register_job(**job_args(-1, with_secret=with_secret))  # warm up: connections, caches
        started = time.perf_counter()
        for i in range(n):
            app.register_job(**job_args(i, with_secret=with_secret))
            if (i + 1) % 2_500 == 0:
                progress(f"  registered {i + 1:,}/{n:,}")
        seconds = time.perf_counter() - started
        stored = count_events(bench, app)
    finally:
        bare.close()
    return seconds, stored


def run_baseline(bench: BenchStore, n: int, rows: list[tuple[str, bytes]]) -> float:
    """Raw driver: one autocommitted INSERT of one job's event rows per job."""
    if bench.kind == "postgres":
        with bench.pg_connect(autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE raw_events (originator_id uuid NOT NULL,"
                " originator_version bigint NOT NULL, topic text, state bytea,"
                " notification_id bigserial, PRIMARY KEY (originator_id, originator_version))"
            )
            conn.execute("CREATE UNIQUE INDEX ON raw_events (notification_id)")
            values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
            insert = (
                "INSERT INTO raw_events (originator_id, originator_version, topic, state)"
                f" VALUES {values}"
            )

            def params() -> list[Any]:
                ident = uuid.uuid4()
                out: list[Any] = []
                for version, (topic, state) in enumerate(rows, start=1):
                    out += [ident, version, topic, state]
                return out

            conn.execute(insert, params(), prepare=True)  # warm up
            started = time.perf_counter()
            for _ in range(n):
                conn.execute(insert, params(), prepare=True)
            return time.perf_counter() - started

    with contextlib.closing(bench.sqlite_connect()) as lite:
        lite.execute(
            "CREATE TABLE raw_events (originator_id TEXT, originator_version INTEGER,"
            " topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
        )
        values = ", ".join(["(?, ?, ?, ?)"] * len(rows))
        insert = f"INSERT INTO raw_events VALUES {values}"

        def sqlite_params() -> list[Any]:
            ident = uuid.uuid4().hex
            out: list[Any] = []
            for version, (topic, state) in enumerate(rows, start=1):
                out += [ident, version, topic, state]
            return out

        lite.execute(insert, sqlite_params())  # warm up
        started = time.perf_counter()
        for _ in range(n):
            lite.execute(insert, sqlite_params())  # autocommit: one transaction each
        return time.perf_counter() - started


def run(bench: BenchStore, scale: float, *, with_secret: bool = False) -> list[Result]:
    n = scaled(N_JOBS, scale, minimum=10)
    label = "register_jobs+secret" if with_secret else "register_jobs"
    progress(f"{label} [{bench.kind}]: {n:,} x app.register_job")
    seconds, stored = run_jobledger(bench, n, with_secret=with_secret)
    progress(f"{label} [{bench.kind}]: {rate(n, seconds):,.0f} jobs/s; {stored:,} events stored")

    bare = build_app(bench)
    try:
        rows = sample_rows(bare.app, with_secret=with_secret)
    finally:
        bare.close()
    progress(
        f"{label} [{bench.kind}]: baseline, {n:,} raw INSERTs of {len(rows)} row(s) "
        f"({sum(len(s) for _, s in rows)} bytes of state) in one commit each"
    )
    base_seconds = run_baseline(bench, n, rows)
    progress(f"{label} [{bench.kind}]: baseline {rate(n, base_seconds):,.0f} jobs/s")

    notes = (
        "1 commit/job; JobLedger's save is BEGIN, LOCK TABLE, NOTIFY, INSERT ... RETURNING, COMMIT"
        if bench.kind == "postgres"
        else "1 commit/job (WAL, synchronous=FULL)"
    )
    if with_secret:
        notes += "; plus the data key: a SELECT and an INSERT commit of its own per job"
    return [
        Result(
            benchmark=label,
            store=bench.kind,
            n=n,
            unit="jobs/s",
            figure=rate(n, seconds),
            seconds=seconds,
            baseline=rate(n, base_seconds),
            baseline_seconds=base_seconds,
            baseline_label=f"raw INSERT of {len(rows)} event row(s), 1 commit/job",
            notes=notes,
            extra={"events_stored": stored, "state_bytes_per_job": sum(len(s) for _, s in rows)},
        )
    ]
