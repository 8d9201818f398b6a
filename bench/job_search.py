"""Benchmark: searching 10,000 jobs by a word in their name or description, ignoring case
(`GET /api/jobs?q=...` and the jobs page's filter box).

Set-up (not timed): 10,000 jobs written into the jobs view through its projection, as the
follower writes them (batches of 500); on PostgreSQL then `ANALYZE view_jobs`, as autovacuum
does soon after. Names and descriptions mix a few words, so a search
for a rare word matches 1 job in 100, a common one about 1 in 4, and a missing one none.

JobLedger: `JobsView.list_jobs(JobQuery(search=word), limit=50)`, the first page, as the
API asks for it: on PostgreSQL a LIKE over the case-folded `search` column served by a
pg_trgm GIN index; on SQLite the same LIKE as a scan of the table. The figure is the median
time per query over the repeats (after a warm-up), in ms.

Baseline: the raw driver (psycopg / sqlite3) running the same statement on the same table
and index, returning the same columns undecoded: the floor the view's query can reach. The
notes add the obvious query without the search column, `lower(name) LIKE ... OR
lower(description) LIKE ...`, which no index serves.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import Tracking

from bench.common import BenchStore, Result, build_system, progress, scaled
from projections.jobs import JobQuery, search_pattern

N_JOBS = 10_000
REPEATS = 200
BATCH = 500
# word -> how often it appears (1 job in N): the searches below.
WORDS = {"zanzibar": 100, "nightly": 4}
SEARCHES = {"rare": "ZANZIBAR", "common": "Nightly", "miss": "no-such-word"}
COLUMNS = "id, version, name, description, job_type, program, parameters, schedule_cron"


def job_fields(i: int) -> dict[str, Any]:
    words = [word for word, every in WORDS.items() if i % every == 0]
    return {
        "name": f"{'Nightly ' if 'nightly' in words else ''}sync {i:05d}",
        "description": f"Copies shard {i} to object storage"
        + (" via the Zanzibar gateway" if "zanzibar" in words else ""),
    }


def fill_view(system: Any, n: int) -> None:
    """n jobs into the jobs view through its projection, BATCH per transaction."""
    from domain import job as job_model

    projection = next(p for p in system.projections if p.name == "jobs")
    position = 0
    for start in range(0, n, BATCH):
        events: list[Any] = []
        for i in range(start, min(n, start + BATCH)):
            job = job_model.register(
                job_type="command",
                program={"argv": ["/usr/local/bin/sync", str(i)]},
                actor="bench@example.com",
                **job_fields(i),
            )
            events += job.collect_events()
        position += len(events)
        projection.process_batch(events, Tracking(projection.name, position))


def timed(query: Callable[[], int], repeats: int) -> tuple[list[float], int]:
    """Per-query times in ms, and the rows the last query returned."""
    rows = query()  # warm up: connection, plan, cache
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        rows = query()
        times.append((time.perf_counter() - started) * 1000)
    return times, rows


def raw_query(
    bench: BenchStore, where: str, pattern: str
) -> tuple[Callable[[], int], Callable[[], None]]:
    """A query on a raw connection of its own (the baseline), and how to close it."""
    statement = f"SELECT {COLUMNS} FROM view_jobs WHERE {where} ORDER BY name, id LIMIT 51"
    params = [pattern] * where.count("?")
    if bench.kind == "postgres":
        conn = bench.pg_connect(autocommit=True)
        pg_statement = statement.replace("?", "%s")
        return (lambda: len(conn.execute(pg_statement, params).fetchall())), conn.close
    lite = bench.sqlite_connect()
    return (lambda: len(lite.execute(statement, params).fetchall())), lite.close


def run(bench: BenchStore, scale: float) -> list[Result]:
    n = scaled(N_JOBS, scale, minimum=100)
    repeats = scaled(REPEATS, min(scale, 1.0), minimum=20)
    system = build_system(bench)
    results: list[Result] = []
    try:
        started = time.perf_counter()
        fill_view(system, n)
        progress(
            f"job_search [{bench.kind}]: {n:,} jobs in the view in "
            f"{time.perf_counter() - started:.1f} s"
        )
        if bench.kind == "postgres":
            # Statistics, as autovacuum gathers them soon after 10,000 new rows: without
            # them the planner guesses, and a common word is searched through the index and
            # sorted rather than found by walking the (name, id) order.
            with bench.pg_connect(autocommit=True) as conn:
                conn.execute("ANALYZE view_jobs")
        view = system.jobs
        indexed = search_index_in_use(bench)
        for label, word in SEARCHES.items():
            ours, found = timed(
                lambda w=word: len(view.list_jobs(JobQuery(search=w), limit=50)[0]), repeats
            )
            pattern = search_pattern(word)
            same, close_same = raw_query(bench, "search LIKE ? ESCAPE '\\'", pattern)
            naive, close_naive = raw_query(
                bench, "lower(name) LIKE ? ESCAPE '\\' OR lower(description) LIKE ? ESCAPE '\\'",
                pattern,
            )  # fmt: skip
            try:
                base, base_rows = timed(same, repeats)
                plain, _ = timed(naive, repeats)
            finally:
                close_same()
                close_naive()
            figure, baseline = statistics.median(ours), statistics.median(base)
            p99 = sorted(ours)[max(0, round(len(ours) * 0.99) - 1)]
            progress(
                f"job_search {label} [{bench.kind}]: {figure:.2f} ms (p99 {p99:.2f}), raw "
                f"{baseline:.2f} ms, naive lower() LIKE {statistics.median(plain):.2f} ms; "
                f"{found} of the first page"
            )
            results.append(
                Result(
                    benchmark=f"job_search {label}",
                    store=bench.kind,
                    n=n,
                    unit="ms",
                    figure=figure,
                    baseline=baseline,
                    baseline_label="the same SQL through the raw driver",
                    seconds=sum(ours) / 1000,
                    baseline_seconds=sum(base) / 1000,
                    notes=(
                        f"median of {repeats} first pages (limit 50) for {word!r}: {found} "
                        f"jobs (raw: {base_rows} rows incl. the next-page probe); p99 "
                        f"{p99:.2f} ms; trigram index: {'yes' if indexed else 'no'}; naive "
                        f"lower(name)/lower(description) LIKE: "
                        f"{statistics.median(plain):.2f} ms"
                    ),
                    extra={"p99_ms": p99, "naive_ms": statistics.median(plain)},
                )
            )
    finally:
        system.close()
    return results


def search_index_in_use(bench: BenchStore) -> bool:
    if bench.kind != "postgres":
        return False
    with bench.pg_connect(autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = %s"
            " AND indexname = 'view_jobs_search_idx'",
            (bench.schema,),
        ).fetchone()
    return bool(row and row[0])
