"""Benchmark 2: a run's log, from `record_log_entries` to rows in the logs view.

JobLedger, end to end, in the order a worker and the projection process would do it here:
register one job (threshold Verbose, so no entry is dropped), request a run, open its log,
then `app.record_log_entries(log, batch)` with batches of 1,000 entries
`(datetime, LogLevel, message of 60-80 characters)` (the write side: one event per batch),
then `system.catch_up()` until the logs view holds every entry (the projection side). The
entries are made before the clock starts: producing them is the worker's business.

Three figures: write-side entries/s, projection entries/s, and end to end: all entries over
the sum of both times. The count in the view is checked afterwards, outside the timing.

Baseline: the raw driver's best bulk insert of the same rows (run_id uuid, seq int,
at timestamptz, level smallint, message text, primary key (run_id, seq), as a log view needs
for its queries) into a fresh table: PostgreSQL `COPY ... FROM STDIN` (psycopg
`cursor.copy`, binary format, `write_row`); SQLite one `executemany` in one transaction.
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import sql

from bench.common import BenchStore, Result, build_system, progress, rate, scaled

N_ENTRIES = 1_000_000
BATCH = 1_000
GOAL_POSTGRES = 100_000.0

_WORDS = [
    *("backup", "shard", "copied", "bytes", "to", "s3://bucket/prefix", "object", "checksum"),
    *("verified", "retry", "connection", "pool", "opened", "closed", "rows", "exported"),
    *("table", "users", "orders", "invoices", "elapsed", "ms", "warning", "slow", "response"),
    *("from", "upstream", "api", "status", "200", "ok", "batch", "committed"),
]


def make_entries(n: int, seed: int = 7) -> list[tuple[datetime, Any, str]]:
    """n log entries a job might write: increasing times, mixed levels, 60-80 characters."""
    from domain.log_level import LogLevel

    rng = random.Random(seed)
    levels = [
        LogLevel.Verbose,
        LogLevel.Debug,
        LogLevel.Info,
        LogLevel.Info,
        LogLevel.Info,
        LogLevel.Info,
        LogLevel.Warning,
        LogLevel.Error,
    ]
    # A few thousand distinct messages, reused: the text is what matters, not its variety.
    messages = []
    for i in range(4_096):
        words = f"step {i:05d}:"
        while len(words) < 60:
            words += " " + rng.choice(_WORDS)
        messages.append(words[: rng.randint(60, 80)].ljust(60, "."))
    start = datetime(2025, 1, 31, 2, 0, tzinfo=UTC)
    step = timedelta(microseconds=997)
    return [
        (start + step * i, levels[i % len(levels)], messages[(i * 2_654_435_761) % 4_096])
        for i in range(n)
    ]


def count_view_entries(bench: BenchStore, system: Any, run_id: uuid.UUID, n: int) -> int:
    """The run's rows in the logs view by a direct COUNT; its last page read by `entries()`."""
    from domain.run_log import run_log_id

    view = system.logs
    table = view.TABLES[0]
    log_id = run_log_id(run_id)
    if bench.kind == "postgres":
        with bench.pg_connect(autocommit=True) as conn:
            row = conn.execute(
                sql.SQL("SELECT COUNT(*) FROM {} WHERE log_id = %s").format(sql.Identifier(table)),
                (log_id,),
            ).fetchone()
    else:
        with contextlib.closing(bench.sqlite_connect()) as conn:
            row = conn.execute(
                f"SELECT COUNT(*) FROM {table} WHERE log_id = ?", (log_id.bytes,)
            ).fetchone()
    count = int(row[0]) if row else 0
    page, after = view.entries(run_id, after=n - 3, limit=10)
    if [e["seq"] for e in page] != [n - 2, n - 1, n] or after is not None:
        raise AssertionError(f"the last page of the log is {[e['seq'] for e in page]}")
    return count


def run_jobledger(bench: BenchStore, entries: list[tuple[datetime, Any, str]]) -> dict[str, Any]:
    system = build_system(bench)
    try:
        app = system.app
        job = app.register_job(
            name="bench-log-writer",
            job_type="command",
            program={"argv": ["/usr/local/bin/etl", "--verbose"]},
            actor="bench@example.com",
            log_level="Verbose",
        )
        run = app.request_run(job.id, actor="bench@example.com")
        app.start_run(run.id, worker="bench-worker")
        system.catch_up()  # the job and the run: not part of the measurement
        log = app.open_run_log(run)

        n = len(entries)
        batches = [entries[i : i + BATCH] for i in range(0, n, BATCH)]
        started = time.perf_counter()
        kept = 0
        for number, batch in enumerate(batches, start=1):
            kept += app.record_log_entries(log, batch)
            if number % 250 == 0:
                progress(f"  recorded {number * BATCH:,}/{n:,} entries")
        write_seconds = time.perf_counter() - started
        assert kept == n, f"the threshold dropped {n - kept} entries"
        progress(f"  write side: {rate(n, write_seconds):,.0f} entries/s; catching up")

        started = time.perf_counter()
        read = 0
        while True:
            pages = system.catch_up()
            read += pages
            if pages == 0:
                break
        project_seconds = time.perf_counter() - started
        progress(
            f"  projection: {rate(n, project_seconds):,.0f} entries/s "
            f"({read:,} notifications); checking the view"
        )

        in_view = count_view_entries(bench, system, run.id, n)
        progress(f"  the logs view holds {in_view:,} entries")
        if in_view != n:
            raise AssertionError(f"the logs view holds {in_view:,} entries, not {n:,}")
        return {
            "write_seconds": write_seconds,
            "project_seconds": project_seconds,
            "notifications": read,
            "store_bytes": bench.size_bytes(),
        }
    finally:
        system.close()


def run_baseline(bench: BenchStore, entries: list[tuple[datetime, Any, str]]) -> float:
    run_id = uuid.uuid4()
    if bench.kind == "postgres":
        rows = [
            (run_id, seq, at, int(level), msg)
            for seq, (at, level, msg) in enumerate(entries, start=1)
        ]
        with bench.pg_connect() as conn:
            conn.execute(
                "CREATE TABLE raw_log_entries (run_id uuid NOT NULL, seq integer NOT NULL,"
                " at timestamptz NOT NULL, level smallint NOT NULL, message text NOT NULL,"
                " PRIMARY KEY (run_id, seq))"
            )
            conn.commit()
            started = time.perf_counter()
            with (
                conn.cursor() as cursor,
                cursor.copy(
                    "COPY raw_log_entries (run_id, seq, at, level, message) FROM STDIN"
                    " (FORMAT BINARY)"
                ) as copy,
            ):
                copy.set_types(["uuid", "int4", "timestamptz", "int2", "text"])
                for row in rows:
                    copy.write_row(row)
            conn.commit()
            return time.perf_counter() - started

    raw = run_id.bytes
    rows_sqlite = [
        (raw, seq, at.isoformat(timespec="microseconds"), int(level), msg)
        for seq, (at, level, msg) in enumerate(entries, start=1)
    ]
    with contextlib.closing(bench.sqlite_connect()) as conn:
        conn.execute(
            "CREATE TABLE raw_log_entries (run_id BLOB NOT NULL, seq INTEGER NOT NULL,"
            " at TEXT NOT NULL, level INTEGER NOT NULL, message TEXT NOT NULL,"
            " PRIMARY KEY (run_id, seq)) WITHOUT ROWID"
        )
        started = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO raw_log_entries VALUES (?, ?, ?, ?, ?)", rows_sqlite)
        conn.execute("COMMIT")
        return time.perf_counter() - started


def run(bench: BenchStore, scale: float) -> list[Result]:
    n = scaled(N_ENTRIES, scale, minimum=BATCH)
    n -= n % BATCH
    progress(f"log_entries [{bench.kind}]: making {n:,} entries")
    entries = make_entries(n)
    progress(f"log_entries [{bench.kind}]: JobLedger, {n // BATCH:,} batches of {BATCH:,}")
    measured = run_jobledger(bench, entries)
    progress(f"log_entries [{bench.kind}]: baseline bulk insert of {n:,} rows")
    base_seconds = run_baseline(bench, entries)
    base = rate(n, base_seconds)
    progress(f"log_entries [{bench.kind}]: baseline {base:,.0f} rows/s")

    write_s, project_s = measured["write_seconds"], measured["project_seconds"]
    label = (
        "COPY FROM STDIN (binary) of the same rows, PK (run_id, seq)"
        if bench.kind == "postgres"
        else "executemany of the same rows in 1 transaction, PK (run_id, seq)"
    )
    common: dict[str, Any] = {
        "store": bench.kind,
        "n": n,
        "unit": "entries/s",
        "baseline": base,
        "baseline_seconds": base_seconds,
        "baseline_label": label,
    }
    goal = GOAL_POSTGRES if bench.kind == "postgres" else None
    return [
        Result(
            benchmark="log_entries write",
            figure=rate(n, write_s),
            seconds=write_s,
            notes=f"{n // BATCH:,} record_log_entries calls, 1 event + 1 commit each",
            **common,
        ),
        Result(
            benchmark="log_entries projection",
            figure=rate(n, project_s),
            seconds=project_s,
            notes="system.catch_up() until the logs view holds every entry",
            **common,
        ),
        Result(
            benchmark="log_entries end-to-end",
            figure=rate(n, write_s + project_s),
            seconds=write_s + project_s,
            goal=goal,
            notes="all entries / (write + projection time)",
            extra=measured,
            **common,
        ),
    ]
