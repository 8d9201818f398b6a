"""Benchmark 3: rebuilding every projection from a history of about 1,000,000 events.

Set-up (not measured): a history like a busy installation's. 2,000 jobs, each registered
and then changed three times (parameters, schedule, policies); then runs spread over the
jobs, each `Requested` (by the schedule), `Started` and `Succeeded` (one in twenty `Failed`),
and each with its log stream: `Opened` plus one `EntriesRecorded` event of 50 entries. So
five events per run, and a run's log entries outnumber its events ten to one. The
aggregates are made by the domain's own commands. On SQLite they are saved with
`app.save(*aggregates)`, 2,000 aggregates per call. On PostgreSQL the same stored events
(`app.mapper.to_stored_event`, so byte for byte what `app.save` writes) are streamed into the
events table with COPY: eventsourcing's own insert (an array of composite values in text
form) manages only ~4,000 events/s with these 5 KB log events, and in pipeline mode a save
of several MB can hang for ever (psycopg issue #685), so a million events through `app.save`
would take longer than the whole benchmark is allowed. The 50-entry lists are built once
(64 variants) and shared between runs: entry text and times repeat across runs, which
changes nothing for a replay.

Measured: `system.rebuild_projections()`: drop the four views (jobs, runs, logs, audit),
recreate them and replay the whole notification log into them. Figure: events/s.

Baseline: the raw driver reading every stored event in notification order (pages of
`SELECT ... WHERE notification_id > %s ORDER BY notification_id LIMIT 2000`, as the
follower pages) and decoding each event's state with orjson: what any replay must do at
least, before it writes anything.
"""

from __future__ import annotations

import contextlib
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from psycopg import sql

from bench.common import (
    BenchStore,
    Result,
    build_system,
    count_events,
    events_table,
    progress,
    rate,
    scaled,
)

N_EVENTS = 1_000_000
N_JOBS = 2_000
ENTRIES_PER_LOG_EVENT = 50
EVENTS_PER_RUN = 5  # Requested, Started, Succeeded/Failed, log Opened, EntriesRecorded
JOB_EVENTS = 4  # Registered + 3 changes
RUNS_PER_SAVE = 1_000  # 2,000 aggregates, 5,000 events (~6 MB) per save
GOAL = 50_000.0
PAGE = 2_000

_CRONS = ["*/5 * * * *", "0 * * * *", "15 2 * * *", "0 9 * * 1-5", "*/15 8-18 * * *"]


def _entry_lists(count: int = 64) -> list[list[list[Any]]]:
    """Lists of 50 stored entries ([seq, time, level, message]) as RunLog.record makes them."""
    from bench.log_entries import make_entries
    from domain.run_log import format_time

    rng = random.Random(11)
    pool = make_entries(count * ENTRIES_PER_LOG_EVENT)
    lists = []
    for k in range(count):
        chunk = pool[k * ENTRIES_PER_LOG_EVENT : (k + 1) * ENTRIES_PER_LOG_EVENT]
        lists.append(
            [
                [seq, format_time(at), int(level), msg]
                for seq, (at, level, msg) in enumerate(chunk, start=1)
            ]
        )
    rng.shuffle(lists)
    return lists


def make_jobs(n_jobs: int) -> list[Any]:
    from application.job_commands import parse_schedule
    from domain import job as job_model
    from domain.schedule import CronSchedule

    jobs = []
    for i in range(n_jobs):
        job = job_model.register(
            name=f"nightly-export-{i:05d}",
            job_type="command",
            program={"argv": ["/usr/local/bin/export", "--shard", str(i % 64)]},
            actor="admin@example.com",
            description="Export one shard of the warehouse to object storage",
            parameters={"region": "eu-west-1", "retention_days": 30, "shard": i % 64},
            schedule=parse_schedule({"cron": _CRONS[i % len(_CRONS)]}),
            log_level="Info",
        )
        job.change_parameters(
            {"region": "eu-west-1", "retention_days": 14, "shard": i % 64}, "ops@example.com"
        )
        job.schedule_with(CronSchedule.parse("*/5 * * * *", "Europe/London"), "ops@example.com")
        job.change_policies({"timeout_seconds": 3_600, "max_retries": 2}, "ops@example.com")
        jobs.append(job)
    return jobs


class Saver:
    """Saves aggregates: `app.save` on SQLite, COPY of the app's stored events on PostgreSQL."""

    def __init__(self, bench: BenchStore, app: Any) -> None:
        self.bench = bench
        self.app = app
        self.conn = bench.pg_connect() if bench.kind == "postgres" else None
        self.copy_sql = sql.SQL(
            "COPY {} (originator_id, originator_version, topic, state) FROM STDIN (FORMAT BINARY)"
        ).format(sql.Identifier(events_table(app)))

    def save(self, aggregates: list[Any]) -> None:
        if self.conn is None:
            self.app.save(*aggregates)
            return
        to_stored = self.app.mapper.to_stored_event
        with self.conn.cursor() as cursor, cursor.copy(self.copy_sql) as copy:
            copy.set_types(["uuid", "int8", "text", "bytea"])
            write = copy.write_row
            for aggregate in aggregates:
                for event in aggregate.collect_events():
                    s = to_stored(event)
                    write((s.originator_id, s.originator_version, s.topic, s.state))
        self.conn.commit()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def generate(bench: BenchStore, app: Any, n_events: int, n_jobs: int) -> dict[str, int]:
    """Store a history of about `n_events` events (see the module's docstring)."""
    saver = Saver(bench, app)
    try:
        return _generate(saver, n_events, n_jobs)
    finally:
        saver.close()


def _generate(saver: Saver, n_events: int, n_jobs: int) -> dict[str, int]:
    from domain import run as run_model
    from domain.run_log import RunLog, open_log

    jobs = make_jobs(n_jobs)
    for start in range(0, len(jobs), 500):
        saver.save(jobs[start : start + 500])
    n_runs = max(1, (n_events - n_jobs * JOB_EVENTS) // EVENTS_PER_RUN)
    progress(f"  {n_jobs:,} jobs saved; now {n_runs:,} runs with their logs")
    entry_lists = _entry_lists()
    base = datetime(2025, 1, 1, tzinfo=UTC)
    pending: list[Any] = []
    for r in range(n_runs):
        job = jobs[r % n_jobs]
        slot = base + timedelta(minutes=5 * (r // n_jobs))
        run = run_model.request(
            job_id=job.id,
            job_version=job.version,
            job_name=job.name,
            job_type=job.job_type,
            trigger="schedule",
            requested_by="scheduler",
            parameters=job.parameters,
            log_level=job.log_level,
            timeout_seconds=job.timeout_seconds,
            scheduled_for=slot,
        )
        run.start(f"worker-{r % 8}")
        if r % 20 == 19:
            run.fail(1, "export failed: connection reset by peer")
        else:
            run.succeed(0)
        log = open_log(run.id, job.log_level)
        log.trigger_event(RunLog.EntriesRecorded, entries=entry_lists[r % len(entry_lists)])
        pending += (run, log)
        if len(pending) >= 2 * RUNS_PER_SAVE:
            saver.save(pending)
            pending = []
            if (r + 1) % 50_000 == 0:
                progress(f"  saved {r + 1:,}/{n_runs:,} runs")
    if pending:
        saver.save(pending)
    return {
        "jobs": n_jobs,
        "runs": n_runs,
        "log_entries": n_runs * ENTRIES_PER_LOG_EVENT,
    }


def run_baseline(bench: BenchStore, app: Any) -> tuple[float, int]:
    """Read every event in notification order, in pages, and orjson-decode its state."""
    table = events_table(app)
    loads = orjson.loads
    count = 0
    if bench.kind == "postgres":
        query = sql.SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {}"
            " WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(sql.Identifier(table))
        with bench.pg_connect(autocommit=True) as conn, conn.cursor(binary=True) as cursor:
            started = time.perf_counter()
            last = 0
            while True:
                rows = cursor.execute(query, (last, PAGE), prepare=True).fetchall()
                if not rows:
                    break
                for row in rows:
                    loads(row[4])
                count += len(rows)
                last = rows[-1][0]
            return time.perf_counter() - started, count

    query_text = (
        f"SELECT rowid, originator_id, originator_version, topic, state FROM {table}"
        " WHERE rowid > ? ORDER BY rowid LIMIT ?"
    )
    with contextlib.closing(bench.sqlite_connect()) as lite:
        started = time.perf_counter()
        last = 0
        while True:
            rows = lite.execute(query_text, (last, PAGE)).fetchall()
            if not rows:
                break
            for row in rows:
                loads(row[4])
            count += len(rows)
            last = rows[-1][0]
        return time.perf_counter() - started, count


def run(bench: BenchStore, scale: float) -> list[Result]:
    n_target = scaled(N_EVENTS, scale, minimum=100)
    n_jobs = scaled(N_JOBS, scale, minimum=10)
    system = build_system(bench)
    try:
        app = system.app
        progress(f"rebuild [{bench.kind}]: generating ~{n_target:,} events (set-up, not timed)")
        started = time.perf_counter()
        counts = generate(bench, app, n_target, n_jobs)
        setup_seconds = time.perf_counter() - started
        n_events = count_events(bench, app)
        progress(
            f"rebuild [{bench.kind}]: {n_events:,} events stored in {setup_seconds:.1f}s "
            f"({rate(n_events, setup_seconds):,.0f} events/s); "
            f"{counts['log_entries']:,} log entries"
        )

        progress(f"rebuild [{bench.kind}]: system.rebuild_projections()")
        timers = instrument(system)
        started = time.perf_counter()
        read = system.rebuild_projections()
        seconds = time.perf_counter() - started
        breakdown = {name: round(t, 2) for name, t in timers.items()}
        breakdown["decode, fold and the rest"] = round(seconds - sum(timers.values()), 2)
        progress(f"rebuild [{bench.kind}]: seconds by part: {breakdown}")
        progress(
            f"rebuild [{bench.kind}]: {read:,} notifications replayed in {seconds:.1f}s: "
            f"{rate(read, seconds):,.0f} events/s"
        )
        if read != n_events:
            raise AssertionError(f"replayed {read:,} notifications of {n_events:,} events")
        check = check_views(system, counts)
        progress(f"rebuild [{bench.kind}]: views hold {check}")

        progress(f"rebuild [{bench.kind}]: baseline, raw read + orjson decode of every event")
        base_seconds, base_count = run_baseline(bench, app)
        progress(f"rebuild [{bench.kind}]: baseline {rate(base_count, base_seconds):,.0f} events/s")
        store_bytes = bench.size_bytes()
    finally:
        system.close()
    return [
        Result(
            benchmark="rebuild",
            store=bench.kind,
            n=n_events,
            unit="events/s",
            figure=rate(n_events, seconds),
            seconds=seconds,
            baseline=rate(base_count, base_seconds),
            baseline_seconds=base_seconds,
            baseline_label=(
                f"raw SELECT in pages of {PAGE:,} by notification id"
                + (" (binary results)" if bench.kind == "postgres" else "")
                + " + orjson.loads of each state"
            ),
            goal=GOAL,
            notes=(
                f"{counts['jobs']:,} jobs, {counts['runs']:,} runs, "
                f"{counts['log_entries']:,} log entries "
                f"({rate(counts['log_entries'], seconds):,.0f} entries/s into the logs view)"
            ),
            extra={
                **counts,
                "setup_seconds": setup_seconds,
                "view_rows": check,
                "store_bytes": store_bytes,
                "seconds_by_part": breakdown,
            },
        )
    ]


def instrument(system: Any) -> dict[str, float]:
    """Time spent reading notification pages and in each view's `process_batch` (fold + write).

    Wraps the bound methods on these instances only; what is left of the total is decoding
    (mapper.to_domain_event) and the follower's own bookkeeping.
    """
    timers: dict[str, float] = {}

    def timed(name: str, method: Any) -> Any:
        timers[name] = 0.0

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                timers[name] += time.perf_counter() - t0

        return wrapper

    recorder = system.follower.recorder
    recorder.select_notifications = timed("read pages", recorder.select_notifications)
    for projection in system.projections:
        projection.process_batch = timed(f"view {projection.name}", projection.process_batch)
    return timers


def check_views(system: Any, counts: dict[str, int]) -> dict[str, int]:
    """Row counts of the rebuilt views, straight from their tables; must match the history."""
    found: dict[str, int] = {}
    for name in ("jobs", "runs", "logs"):
        view = system.view(name)
        table = view.TABLES[0]
        with view.datastore.transaction(commit=False) as cursor:
            if hasattr(view, "compose"):
                cursor.execute(view.compose("SELECT COUNT(*) AS n FROM {s}.{t}", t=table))
                row = cursor.fetchone()
                found[name] = int(row["n"] if isinstance(row, dict) else row[0])
            else:
                cursor.execute(f"SELECT COUNT(*) FROM {table}")
                found[name] = int(cursor.fetchone()[0])
    expected = {"jobs": counts["jobs"], "runs": counts["runs"], "logs": counts["log_entries"]}
    if found != expected:
        raise AssertionError(f"views hold {found}, expected {expected}")
    return found
