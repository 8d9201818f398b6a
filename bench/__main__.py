"""`python -m bench`: run the benchmarks, print the table, write bench/results/latest.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench import (
    dispatch_latency,
    fire_lag,
    http_api,
    job_search,
    list_pages,
    log_entries,
    notifier_start,
    notify_latency,
    page_speed,
    rebuild,
    register_jobs,
    retention,
    run_throughput,
    scheduler_memory,
)
from bench.common import BenchStore, Result, env_pg_url, fresh_store, progress

BENCHMARKS: dict[str, tuple[Callable[[BenchStore, float], list[Result]], str, str]] = {
    # name: (run, unit, goal text)
    "register_jobs": (register_jobs.run, "jobs/s", ""),
    "register_jobs+secret": (partial(register_jobs.run, with_secret=True), "jobs/s", ""),
    "log_entries": (log_entries.run, "entries/s", ">=100,000/s e2e on postgres"),
    "rebuild": (rebuild.run, "events/s", ">=50,000/s"),
    "fire_lag": (fire_lag.run, "ms", "all 10,000 stored <=1,000 ms after due (postgres)"),
    "scheduler_memory": (scheduler_memory.run, "MB", "<150 MB RSS with 100,000 jobs"),
    "dispatch_latency": (dispatch_latency.run, "ms", "p50 <10 ms, p99 <50 ms (postgres)"),
    "run_throughput": (run_throughput.run, "runs/s", ">=500 runs/s on 2 cores (postgres)"),
    "job_search": (job_search.run, "ms", "first page well under 50 ms over 10,000 jobs"),
    "list_pages": (list_pages.run, "ms", "a page with its total fast on 10,000 jobs"),
    "retention": (retention.run, "", "API p99 during a sweep within 2x of without"),
    "http_api": (http_api.run, "req/s", ">=2,000 req/s, p99 <20 ms for one job (postgres)"),
    "notify_latency": (notify_latency.run, "ms", "p50 <200 ms, p99 <1 s; storm: 1 alert/job"),
    "page_speed": (page_speed.run, "ms", "p95 <150 ms for / and /jobs, 10,000 jobs (postgres)"),
    "notifier_start": (notifier_start.run, "ms", "start-up flat in the history of deliveries"),
}
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply every size (0.01: a quick smoke run)"
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"run only these benchmarks (repeatable or comma-separated): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=900.0,
        help="give up a benchmark on one store after this many seconds (default 900)",
    )
    parser.add_argument(
        "--full-retention",
        action="store_true",
        help=f"retention at its full size, {retention.FULL_ENTRIES:,} log entries (default "
        f"{retention.N_ENTRIES:,}, times --scale); the full size takes tens of minutes",
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS_DIR / "latest.json", help="where to write JSON"
    )
    args = parser.parse_args(argv)
    names = list(BENCHMARKS)
    if args.only:
        names = [n.strip() for item in args.only for n in item.split(",") if n.strip()]
        unknown = [n for n in names if n not in BENCHMARKS]
        if unknown:
            parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}")
    if args.scale <= 0:
        parser.error("--scale must be positive")
    if args.full_retention:
        retention.N_ENTRIES = retention.FULL_ENTRIES
    stores = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    pg_url = env_pg_url()

    signal.signal(signal.SIGALRM, _timed_out)
    started_at = datetime.now(UTC)
    code = code_version()
    progress(f"measuring {code}")
    load_at_start = os.getloadavg()
    started = time.perf_counter()
    results: list[Result] = []
    timings: dict[str, float] = {}
    loads: dict[str, tuple[float, float]] = {}
    for name in names:
        run = BENCHMARKS[name][0]
        for kind in stores:
            t0 = time.perf_counter()
            load_before = os.getloadavg()[0]
            progress(f"=== {name} on {kind} (scale {args.scale:g})")
            try:
                with fresh_store(kind, pg_url, name.replace("+", "-")) as bench:
                    # A watchdog: a hung database call fails this benchmark, not the run.
                    signal.setitimer(signal.ITIMER_REAL, args.timeout)
                    try:
                        results.extend(run(bench, args.scale))
                    finally:
                        signal.setitimer(signal.ITIMER_REAL, 0)
            except Exception as error:  # one failing benchmark must not stop the others
                traceback.print_exc(file=sys.stderr)
                results.append(
                    Result(
                        benchmark=name,
                        store=kind,
                        n=0,
                        unit=BENCHMARKS[name][1],
                        figure=None,
                        error=f"{type(error).__name__}: {error}",
                    )
                )
            timings[f"{name}/{kind}"] = time.perf_counter() - t0
            # The 1-minute load average around each benchmark: ours is about 1 (plus the
            # database server's share); much more means other work shared the machine.
            loads[f"{name}/{kind}"] = (load_before, os.getloadavg()[0])
            progress(f"=== {name} on {kind}: {timings[f'{name}/{kind}']:.1f}s")
    total = time.perf_counter() - started

    print(render_table(results))
    print(
        f"\nTotal wall time: {total:.1f}s (scale {args.scale:g}, stores: {', '.join(stores)},"
        f" code {code})"
    )
    report = {
        "started_at": started_at.isoformat(),
        "code": code,
        "total_seconds": total,
        "scale": args.scale,
        "stores": stores,
        "benchmarks": names,
        "seconds_per_benchmark": timings,
        "load_average_1min_before_after": loads,
        "machine": {
            **machine(pg_url if "postgres" in stores else None),
            "load_average_at_start": load_at_start,
        },
        "results": [r.to_json() for r in results],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    progress(f"wrote {args.output}")
    return 1 if any(r.error for r in results) else 0


class BenchTimeout(Exception):
    """A benchmark ran past --timeout."""


def _timed_out(_signum: int, _frame: Any) -> None:
    raise BenchTimeout("ran past --timeout (a hung database call?)")


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:,.0f} {unit}".strip()


def render_table(results: list[Result]) -> str:
    header = ["benchmark", "store", "n", "JobLedger", "baseline", "ratio", "goal", "met?"]
    rows = [header]
    for r in results:
        if r.error:
            rows.append(
                [
                    r.benchmark,
                    r.store,
                    f"{r.n:,}",
                    f"ERROR {r.error}"[:60],
                    "-",
                    "-",
                    fmt(r.goal),
                    "-",
                ]
            )
            continue
        rows.append(
            [
                r.benchmark,
                r.store,
                f"{r.n:,}",
                fmt(r.figure, r.unit),
                fmt(r.baseline, r.unit),
                "-" if r.ratio is None else f"{r.ratio:.2f}",
                "-" if r.goal is None else f">= {r.goal:,.0f}",
                {None: "-", True: "yes", False: "NO"}[r.met],
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    notes = [
        f"  {r.benchmark} [{r.store}]: baseline = {r.baseline_label}"
        + (f"; {r.notes}" if r.notes else "")
        for r in results
        if not r.error
    ]
    return "\n".join(lines) + ("\n\nBaselines and notes:\n" + "\n".join(notes) if notes else "")


def code_version() -> str:
    """The commit measured, with "+changes" if files outside bench/ differ from it."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (commit or "unknown") + ("+changes" if changed else "")


def machine(pg_url: str | None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        # Other processes on the machine skew every figure: note how busy it was.
        "load_average_at_end": os.getloadavg(),
    }
    if pg_url:
        try:
            import psycopg

            with psycopg.connect(pg_url, autocommit=True) as conn:
                row = conn.execute("SHOW server_version").fetchone()
                info["postgres"] = row[0] if row else None
        except Exception as error:  # noqa: BLE001 - informational only
            info["postgres"] = f"unavailable: {error}"
    return info


if __name__ == "__main__":
    sys.exit(main())
