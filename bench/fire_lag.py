"""Fire lag: 10,000 jobs due in the same second, from the due instant to every run request
stored.

JobLedger: 10,000 jobs whose 6-field CRON schedule names one instant a few seconds
ahead (14 s for 10,000), registered in a few large saves, so registration is not what is
measured. A `Scheduler` with the system clock, the store's checkpoint table and a
PostgreSQL NOTIFY wake-up (as `jobledger scheduler` runs it) loads them and sleeps until
the instant. Per-run lag is the commit time of the batch that stored the run minus its
due instant; all runs due together are one transaction, so p50, p99 and "last stored"
coincide unless a batch conflicts.

Baseline: APScheduler 3 (BackgroundScheduler, in-memory job store, its default thread
pool of 10) with the same 10,000 cron triggers; lag is when each job function starts minus
the due instant. It stores nothing: its figure is a floor for "the scheduler noticed".
"""

from __future__ import annotations

import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import BenchStore, Result, build_app, progress, scaled

N_JOBS = 10_000


def lead_time(n: int) -> timedelta:
    """Registration, then the scheduler's start-up, must fit before the due instant."""
    return timedelta(seconds=4 + n / 1_000)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def cron_at(due: datetime) -> str:
    return f"{due.second} {due.minute} {due.hour} {due.day} {due.month} *"


def register(app: Any, n: int, due: datetime) -> None:
    from application.job_commands import parse_schedule
    from domain import job as job_model

    schedule = parse_schedule({"cron": cron_at(due), "timezone": "UTC"})
    for start in range(0, n, 1_000):
        jobs = [
            job_model.register(
                name=f"lag-{i:06d}",
                job_type="command",
                program={"argv": ["/bin/true"]},
                actor="bench",
                parameters={"shard": i},
                schedule=schedule,
            )
            for i in range(start, min(n, start + 1_000))
        ]
        app.save(*jobs)


def run_jobledger(bench: BenchStore, n: int) -> dict[str, Any]:
    from adapters.clock import SystemClock
    from scheduler.scheduler import Batch, Scheduler

    bare = build_app(bench)
    app = bare.app
    checkpoint = bench.backend.scheduler_checkpoint()
    wakeup = bench.backend.wakeup(app.recorder)
    try:
        due = datetime.now(UTC).replace(microsecond=0) + lead_time(n)
        t0 = time.perf_counter()
        register(app, n, due)
        progress(
            f"fire_lag [{bench.kind}]: registered {n:,} jobs in {time.perf_counter() - t0:.1f}s"
        )
        batches: list[Batch] = []
        scheduler = Scheduler(
            app, SystemClock(), checkpoint, wakeup=wakeup, on_batch=batches.append
        )
        t0 = time.perf_counter()
        scheduler.start()
        start_seconds = time.perf_counter() - t0
        progress(
            f"fire_lag [{bench.kind}]: scheduler loaded {len(scheduler.index):,} jobs "
            f"in {start_seconds:.1f}s"
        )
        if datetime.now(UTC) >= due:
            raise RuntimeError("set-up took longer than the lead time; nothing to measure")
        stop = threading.Event()
        thread = threading.Thread(target=scheduler.run, args=(stop,), daemon=True)
        thread.start()
        deadline = time.monotonic() + lead_time(n).total_seconds() + 60
        while scheduler.stats.requested + scheduler.stats.already_fired < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {scheduler.stats.requested} of {n} runs stored")
            time.sleep(0.05)
        stop.set()
        scheduler.wakeup.set()
        thread.join(10)
        lags: list[float] = []
        for batch in batches:
            lag = (batch.committed_at - due).total_seconds()
            lags.extend(lag for _ in batch.result.saved)
        first = batches[0]
        return {
            "woke_ms": 1000 * (first.tick_at - due).total_seconds(),
            "decide_ms": 1000 * (first.decided_at - first.tick_at).total_seconds(),
            "write_ms": 1000 * (first.committed_at - first.decided_at).total_seconds(),
            "lags": lags,
            "batches": len(batches),
            "start_seconds": start_seconds,
            "requested": scheduler.stats.requested,
        }
    finally:
        close_wakeup = getattr(wakeup, "close", None)  # PostgreSQL's LISTEN connection
        if close_wakeup is not None:
            close_wakeup()
        checkpoint.close()
        bare.close()


def run_apscheduler(n: int) -> list[float]:
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger

    started: list[float] = []
    lock = threading.Lock()

    def job() -> None:
        now = time.time()
        with lock:
            started.append(now)

    scheduler = BackgroundScheduler(
        timezone=UTC, job_defaults={"misfire_grace_time": 3600, "coalesce": False}
    )
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5 + n / 1_000)
    for i in range(n):
        trigger = CronTrigger(
            second=due.second, minute=due.minute, hour=due.hour, day=due.day,
            month=due.month, timezone=UTC,
        )  # fmt: skip
        scheduler.add_job(job, trigger, id=f"lag-{i}")
    scheduler.start()
    try:
        deadline = time.monotonic() + 90
        while len(started) < n and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.shutdown(wait=False)
    if len(started) < n:
        raise RuntimeError(f"APScheduler started only {len(started)} of {n} jobs")
    return [t - due.timestamp() for t in started]


def run(bench: BenchStore, scale: float) -> list[Result]:
    n = scaled(N_JOBS, scale, minimum=10)
    progress(f"fire_lag [{bench.kind}]: {n:,} jobs due at one instant")
    ours = run_jobledger(bench, n)
    lags = ours["lags"]
    progress(f"fire_lag [{bench.kind}]: APScheduler 3 with {n:,} cron triggers")
    theirs = run_apscheduler(n)
    figures = {
        "p50_ms": 1000 * statistics.median(lags),
        "p99_ms": 1000 * quantile(lags, 0.99),
        "last_ms": 1000 * max(lags),
        "apscheduler_p50_ms": 1000 * statistics.median(theirs),
        "apscheduler_p99_ms": 1000 * quantile(theirs, 0.99),
        "apscheduler_last_ms": 1000 * max(theirs),
        "batches": ours["batches"],
        "first_batch_woke_ms": ours["woke_ms"],
        "first_batch_decide_ms": ours["decide_ms"],
        "first_batch_write_ms": ours["write_ms"],
        "scheduler_start_seconds": ours["start_seconds"],
    }
    met = figures["last_ms"] <= 1000
    progress(f"fire_lag [{bench.kind}]: {figures}")
    return [
        Result(
            benchmark="fire_lag",
            store=bench.kind,
            n=n,
            unit="ms",
            figure=figures["last_ms"],
            seconds=figures["last_ms"] / 1000,
            baseline=figures["apscheduler_last_ms"],
            baseline_label="APScheduler 3.x BackgroundScheduler, same cron triggers, "
            "due -> job start (stores nothing)",
            notes=(
                f"figure = due -> last request stored; p50 {figures['p50_ms']:.0f} ms, "
                f"p99 {figures['p99_ms']:.0f} ms in {ours['batches']} batch(es) (woke "
                f"+{ours['woke_ms']:.0f} ms, policies {ours['decide_ms']:.0f} ms, one "
                f"transaction {ours['write_ms']:.0f} ms); "
                f"APScheduler p50 {figures['apscheduler_p50_ms']:.0f} ms, "
                f"p99 {figures['apscheduler_p99_ms']:.0f} ms; "
                f"goal all stored within 1000 ms: {'met' if met else 'NOT met'}"
            ),
            extra=figures,
        )
    ]
