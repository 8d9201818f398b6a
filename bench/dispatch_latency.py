"""Dispatch latency: from a run request stored (its commit returned) to the run started by
an idle worker.

JobLedger: one application requests runs, one at a time, of a job with an in-process no-op
executor; a worker on an application of its own (as a `jobledger worker` process would have
on PostgreSQL, so it learns of the request through LISTEN/NOTIFY, not in-process) claims
each one. The latency of one run is from `request_run` returning (the request committed) to
the executor being entered, which is after `Started` is committed and the execution built.
Between requests the requester pauses 20 ms, so the worker is idle, waiting on its wake-up.
On SQLite (one process by design) the worker shares the requester's application and wakes
on its after-save listener.

Baseline, in the same run: the raw wake-up the worker rides on. PostgreSQL: a psycopg
connection sends NOTIFY (autocommit) and a second, listening connection in another thread
receives it: from the NOTIFY returning to the listener's receipt. SQLite: a
threading.Event set in one thread and seen by another.
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

from bench.common import BenchStore, Result, build_app, progress, scaled

N_RUNS = 500
GAP_SECONDS = 0.02
GOAL_P50_MS = 10.0
GOAL_P99_MS = 50.0


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Probe:
    """A no-op executor that notes when it is entered."""

    def __init__(self) -> None:
        self.entered = 0.0
        self.event = threading.Event()

    def execute(self, execution: Any, log: Any, stop: Any) -> Any:
        from jobtypes import Outcome

        self.entered = time.perf_counter()
        self.event.set()
        return Outcome(exit_code=0)


def measure_jobledger(bench: BenchStore, n: int) -> list[float]:
    from interfaces.worker_runtime import start_worker

    requester = build_app(bench)
    worker_app = build_app(bench) if bench.kind == "postgres" else requester
    app = requester.app
    job = app.register_job(
        name="dispatch",
        job_type="command",
        program={"argv": ["true"]},
        actor="bench",
        policies={"overlap": "allow"},
    )
    probe = Probe()
    handle = start_worker(
        worker_app.app, bench.backend, executor_for=lambda _name: probe, concurrency=4
    )
    latencies: list[float] = []
    try:
        for i in range(n + 10):  # the first 10 warm caches and connections up
            time.sleep(GAP_SECONDS)
            probe.event.clear()
            app.request_run(job.id, actor="bench")
            stored = time.perf_counter()
            if not probe.event.wait(10):
                raise RuntimeError(f"run {i} was not started within 10 s")
            if i >= 10:
                latencies.append((probe.entered - stored) * 1000)
        handle.worker.wait_idle(10)
    finally:
        handle.stop(grace=5)
        if worker_app is not requester:
            worker_app.close()
        requester.close()
    return latencies


def measure_baseline(bench: BenchStore, n: int) -> list[float]:
    received = threading.Event()
    at = [0.0]
    latencies: list[float] = []
    if bench.kind != "postgres":
        flag, stop = threading.Event(), threading.Event()

        def waiter() -> None:
            while not stop.is_set():
                if flag.wait(0.2):
                    at[0] = time.perf_counter()
                    flag.clear()
                    received.set()

        thread = threading.Thread(target=waiter, daemon=True)
        thread.start()
        for _ in range(n):
            time.sleep(GAP_SECONDS)
            received.clear()
            sent = time.perf_counter()
            flag.set()
            received.wait(5)
            latencies.append((at[0] - sent) * 1000)
        stop.set()
        thread.join(2)
        return latencies

    listener = bench.pg_connect(autocommit=True)
    sender = bench.pg_connect(autocommit=True)
    listener.execute("LISTEN bench_dispatch")
    stop_listening = threading.Event()

    def listen() -> None:
        while not stop_listening.is_set():
            for _ in listener.notifies(timeout=0.2, stop_after=1):
                at[0] = time.perf_counter()
                received.set()

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    try:
        for i in range(n + 10):
            time.sleep(GAP_SECONDS)
            received.clear()
            sender.execute("NOTIFY bench_dispatch")
            sent = time.perf_counter()
            if not received.wait(5):
                raise RuntimeError("a NOTIFY was not received within 5 s")
            if i >= 10:
                latencies.append((at[0] - sent) * 1000)
    finally:
        stop_listening.set()
        thread.join(2)
        listener.close()
        sender.close()
    return latencies


def run(bench: BenchStore, scale: float) -> list[Result]:
    n = scaled(N_RUNS, scale, minimum=20)
    progress(f"dispatch latency: {n} runs, one at a time, idle worker")
    ours = measure_jobledger(bench, n)
    progress("baseline: raw wake-up")
    base = measure_baseline(bench, n)
    label = (
        "raw LISTEN/NOTIFY through psycopg: NOTIFY returned -> listener thread receives"
        if bench.kind == "postgres"
        else "threading.Event set -> waiting thread wakes (the in-process wake-up)"
    )
    how = (
        "worker on its own application, woken by LISTEN/NOTIFY"
        if bench.kind == "postgres"
        else "worker on the same application, woken in-process (embedded default)"
    )
    results = []
    for name, q, goal in (("p50", 0.5, GOAL_P50_MS), ("p99", 0.99, GOAL_P99_MS)):
        figure = quantile(ours, q)
        baseline = quantile(base, q)
        met = figure < goal
        results.append(
            Result(
                benchmark=f"dispatch_latency {name}",
                store=bench.kind,
                n=n,
                unit="ms",
                figure=figure,
                baseline=baseline,
                baseline_label=label,
                notes=(
                    f"request committed -> run started and its executor entered; {how}; "
                    f"goal {name} < {goal:g} ms: {'met' if met else 'NOT met'}; "
                    f"{name} {figure:.2f} ms vs baseline {baseline:.3f} ms; "
                    f"mean {statistics.fmean(ours):.2f} ms, max {max(ours):.2f} ms "
                    f"(baseline mean {statistics.fmean(base):.3f} ms)"
                ),
                extra={
                    "goal_ms": goal,
                    "goal_met": met,
                    "figure_is": "milliseconds, lower is better",
                },
            )
        )
    return results
