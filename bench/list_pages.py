"""Benchmark: the jobs list's total and numbered pages over 10,000 jobs (the Jobs page's
"1–50 of 10,000" and its page links).

Set-up (not timed): 10,000 jobs written into the jobs view through its projection, as in
job_search; on PostgreSQL then `ANALYZE view_jobs`.

JobLedger: one Jobs page as the web page reads it now: `list_jobs(limit=50)` and
`count_jobs()`, for the first page, and for the last page (page 200, reached by offset);
and the same with a filter (a word in 1 job in 4). The figure is the median time per page
over the repeats (after a warm-up), in ms.

Baseline: the first page as the page read it before totals, `list_jobs(limit=50)` alone
(keyset, no count).
"""

from __future__ import annotations

import statistics

from bench.common import BenchStore, Result, build_system, progress, scaled
from bench.job_search import fill_view, timed
from projections.jobs import ALL_JOBS, JobQuery

N_JOBS = 10_000
REPEATS = 100
SIZE = 50


def run(bench: BenchStore, scale: float) -> list[Result]:
    n = scaled(N_JOBS, scale, minimum=100)
    repeats = scaled(REPEATS, min(scale, 1.0), minimum=10)
    last_offset = (max(1, -(-n // SIZE)) - 1) * SIZE
    system = build_system(bench)
    results: list[Result] = []
    try:
        fill_view(system, n)
        if bench.kind == "postgres":
            with bench.pg_connect(autocommit=True) as conn:
                conn.execute("ANALYZE view_jobs")
        view = system.jobs
        base, _ = timed(lambda: len(view.list_jobs(limit=SIZE)[0]), repeats)
        baseline = statistics.median(base)
        cases = {
            "first page + total": (ALL_JOBS, 0),
            "last page + total": (ALL_JOBS, last_offset),
            "filtered first page + total": (JobQuery(search="nightly"), 0),
        }
        for label, (query, offset) in cases.items():

            def page(query: JobQuery = query, offset: int = offset) -> int:
                rows, _ = view.list_jobs(query, limit=SIZE, offset=offset)
                view.count_jobs(query)
                return len(rows)

            ours, shown = timed(page, repeats)
            figure = statistics.median(ours)
            total = view.count_jobs(query)
            progress(
                f"list_pages {label} [{bench.kind}]: {figure:.2f} ms "
                f"({shown} of {total:,} jobs), keyset first page alone {baseline:.2f} ms"
            )
            results.append(
                Result(
                    benchmark=f"list_pages {label}",
                    store=bench.kind,
                    n=n,
                    unit="ms",
                    figure=figure,
                    baseline=baseline,
                    baseline_label="the first page alone, by keyset, no total",
                    seconds=sum(ours) / 1000,
                    baseline_seconds=sum(base) / 1000,
                    notes=f"median of {repeats}; offset {offset}; {total:,} jobs counted",
                )
            )
    finally:
        system.close()
    return results
