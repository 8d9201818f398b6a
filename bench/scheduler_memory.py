"""Scheduler memory: the resident size of a scheduler process with 100,000 jobs loaded.

The store gets 100,000 scheduled jobs (`*/5 * * * *`, the register_jobs shape: argv,
description, three parameters), saved in large batches. Then three child processes, each
measured by its own /proc/self/status once its work is done:

- JobLedger: what `jobledger scheduler` does: `scheduler_app(settings, backend)` and the scheduler
  wired by `interfaces.scheduler_runtime`, then `start()` (read every job event, plan
  every job) and `prepare()` for the next fire time, as the running loop does.
  Figure: VmRSS after loading (peak VmHWM in the notes). Goal: under 150 MB.
- Baseline: the same process without `start()`: the same modules imported, the same
  connections open, no jobs loaded. The difference is the index of 100,000 jobs.
- APScheduler 3: a BackgroundScheduler (started paused) holding 100,000 cron jobs in its
  in-memory job store, for scale.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
from typing import Any

from bench.common import (
    BenchStore,
    Result,
    build_app,
    env_pg_url,
    pg_url_with_schema,
    progress,
    scaled,
)

N_JOBS = 100_000


def status_mb() -> dict[str, float]:
    """This process's resident size now and at its peak, in MB (Linux)."""
    found: dict[str, float] = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) / 1024
    return found


def register(app: Any, n: int) -> None:
    from application.job_commands import parse_schedule
    from domain import job as job_model

    schedule = parse_schedule({"cron": "*/5 * * * *"})
    for start in range(0, n, 2_000):
        app.save(
            *[
                job_model.register(
                    name=f"bench-backup-{i:06d}",
                    job_type="command",
                    program={"argv": ["/usr/local/bin/backup", "--target", f"db-{i % 97:02d}"]},
                    actor="bench@example.com",
                    description="Nightly backup of one database shard to object storage",
                    parameters={"region": "eu-west-1", "retention_days": 30, "shard": i},
                    schedule=schedule,
                )
                for i in range(start, min(n, start + 2_000))
            ]
        )
        if (start + 2_000) % 20_000 == 0:
            progress(f"  registered {min(n, start + 2_000):,}/{n:,}")


def database_url(bench: BenchStore) -> str:
    if bench.kind == "sqlite":
        assert bench.store.sqlite_path is not None
        return f"sqlite:///{bench.store.sqlite_path.resolve()}"
    assert bench.schema is not None
    return pg_url_with_schema(env_pg_url(), bench.schema)


def child(bench: BenchStore, mode: str, n: int) -> dict[str, Any]:
    env = {
        **os.environ,
        "JOBLEDGER_DATABASE_URL": database_url(bench),
        "JOBLEDGER_DATA_DIR": str(bench.data_dir),
        "JOBLEDGER_MASTER_KEY": bench.master_key_text,
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench.scheduler_memory", mode, str(n)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{mode} child failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(mode: str, n: int) -> None:
    """The child process: do `mode`'s work, then print its memory as one JSON line."""
    if mode == "apscheduler":
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.cron import CronTrigger

        aps = BackgroundScheduler(timezone="UTC")
        aps.start(paused=True)
        started = time.perf_counter()
        for i in range(n):
            aps.add_job(print, CronTrigger(minute="*/5", timezone="UTC"), id=f"j{i}", args=(i,))
        seconds = time.perf_counter() - started
        gc.collect()
        print(json.dumps({**status_mb(), "jobs": len(aps.get_jobs()), "seconds": seconds}))
        aps.shutdown(wait=False)
        return
    from adapters.clock import SystemClock
    from adapters.store_backend import backend_for
    from interfaces.scheduler_runtime import scheduler_app
    from interfaces.settings import Settings
    from scheduler.scheduler import Scheduler

    settings = Settings.from_env()
    backend = backend_for(settings.store)
    app = scheduler_app(settings, backend)
    # The scheduler `jobledger scheduler` runs, made here without its loop thread, so that
    # the "no jobs loaded" process holds the same objects and has loaded nothing.
    checkpoint = backend.scheduler_checkpoint()
    wakeup = backend.wakeup(app.recorder)
    scheduler = Scheduler(app, SystemClock(), checkpoint, wakeup=wakeup)
    jobs, seconds = 0, 0.0
    if mode == "scheduler":
        started = time.perf_counter()
        scheduler.start()
        seconds = time.perf_counter() - started
        jobs = len(scheduler.index)
        # What the running loop holds while it waits: the requests prepared for the next
        # fire time (all 100,000 jobs share it here; up to `prepare_limit` are prepared).
        next_due = scheduler.index.next_due()
        if next_due is not None:
            scheduler.prepare(next_due)
    gc.collect()
    print(json.dumps({**status_mb(), "jobs": jobs, "seconds": seconds}))
    close_wakeup = getattr(wakeup, "close", None)  # PostgreSQL's LISTEN connection
    if close_wakeup is not None:
        close_wakeup()
    checkpoint.close()
    app.close()


def run(bench: BenchStore, scale: float) -> list[Result]:
    n = scaled(N_JOBS, scale, minimum=10)
    progress(f"scheduler_memory [{bench.kind}]: registering {n:,} scheduled jobs")
    bare = build_app(bench)
    try:
        t0 = time.perf_counter()
        register(bare.app, n)
        progress(f"scheduler_memory [{bench.kind}]: registered in {time.perf_counter() - t0:.1f}s")
    finally:
        bare.close()
    ours = child(bench, "scheduler", n)
    if ours["jobs"] != n:
        raise RuntimeError(f"the scheduler loaded {ours['jobs']} of {n} jobs")
    progress(f"scheduler_memory [{bench.kind}]: scheduler {ours}")
    bare_process = child(bench, "baseline", n)
    progress(f"scheduler_memory [{bench.kind}]: same process, no jobs loaded {bare_process}")
    aps = child(bench, "apscheduler", n)
    progress(f"scheduler_memory [{bench.kind}]: APScheduler {aps}")
    met = ours["VmRSS"] < 150
    return [
        Result(
            benchmark="scheduler_memory",
            store=bench.kind,
            n=n,
            unit="MB",
            figure=ours["VmRSS"],
            seconds=ours["seconds"],
            baseline=bare_process["VmRSS"],
            baseline_label="the same scheduler process (same imports, connections) with no "
            "jobs loaded",
            notes=(
                f"RSS after loading {n:,} jobs in {ours['seconds']:.1f}s and preparing "
                f"the next fire time (peak "
                f"{ours['VmHWM']:.0f} MB); APScheduler 3 with {n:,} cron jobs in memory: "
                f"{aps['VmRSS']:.0f} MB; goal under 150 MB: {'met' if met else 'NOT met'}"
            ),
            extra={"scheduler": ours, "bare_process": bare_process, "apscheduler": aps},
        )
    ]


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
