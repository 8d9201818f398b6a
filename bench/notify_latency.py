"""Notification latency: from a failed run's end stored (its commit returned) to the
webhook's receipt by a real HTTP server on 127.0.0.1; and a storm of failing runs, which
must produce at most one alert per job per suppression window.

JobLedger: one application plays the worker (requests, starts and fails runs of a job that
notifies a webhook channel on `failed`), and a notifier on an application of its own (as a
`jobledger notifier` process has: on PostgreSQL it learns of the failure by LISTEN/NOTIFY)
decides, records the delivery, claims it and POSTs it. The suppression window is 0 for the
latency part, so every failure alerts. On SQLite (one process by design) the notifier shares
the worker's application and wakes on its after-save listener, as in `jobledger serve`.

Storm: 1,000 failing runs of 50 jobs (20 each) stored as fast as they can be, with the
default one-hour window: the figure is the alerts received (goal: at most 50, one per job),
and the notes give the time until the last one arrived.

Baseline, in the same run: the same JSON POSTed to the same receiver by an httpx client,
from the call to the receipt (the floor of any delivery).
"""

from __future__ import annotations

import statistics
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from bench.common import BenchStore, Result, build_app, progress, scaled

N_RUNS = 200
STORM_JOBS, STORM_RUNS_PER_JOB = 50, 20
GAP_SECONDS = 0.02
GOAL_P50_MS, GOAL_P99_MS = 200.0, 1000.0


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Receiver:
    """An HTTP server noting when each POST arrived (perf_counter), by its run id."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, bytes]] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.arrived:
                    receiver.arrivals.append((time.perf_counter(), body))
                    receiver.arrived.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.arrivals) >= count, timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _notifier(bench: BenchStore, app: Any, window: timedelta) -> Any:
    from application.notification_commands import NotifySettings
    from interfaces.notifier_runtime import start_notifier

    return start_notifier(app, bench.backend, NotifySettings(window=window))


def _failing_job(app: Any, name: str, channel: str) -> Any:
    return app.register_job(
        name=name,
        job_type="command",
        program={"argv": ["false"]},
        actor="bench",
        policies={"overlap": "allow", "notify": [{"channel": channel, "on": ["failed"]}]},
    ).id


def _fail(app: Any, job_id: Any) -> None:
    run = app.request_run(job_id, actor="bench")
    app.start_run(run.id, worker="bench")
    app.fail_run(run.id, exit_code=1, error="bench failure")


def measure_latency(bench: BenchStore, n: int) -> list[float]:
    worker = build_app(bench)
    notifier_app = build_app(bench) if bench.kind == "postgres" else worker
    receiver = Receiver()
    handle = None
    try:
        app = worker.app
        app.create_channel(
            name="hook",
            type="webhook",
            config={"url": receiver.url},
            secrets={"signing_secret": "bench"},
            actor="bench",
        )
        job_id = _failing_job(app, "latency", "hook")
        handle = _notifier(bench, notifier_app.app, timedelta(0))
        latencies: list[float] = []
        for i in range(n + 10):  # the first 10 warm caches and connections up
            time.sleep(GAP_SECONDS)
            _fail(app, job_id)
            stored = time.perf_counter()
            if not receiver.wait_for(i + 1, 10):
                raise RuntimeError(f"failure {i} was not delivered within 10 s")
            if i >= 10:
                latencies.append((receiver.arrivals[i][0] - stored) * 1000)
        return latencies
    finally:
        if handle is not None:
            handle.stop()
        receiver.close()
        if notifier_app is not worker:
            notifier_app.close()
        worker.close()


def measure_storm(bench: BenchStore, jobs: int, per_job: int) -> tuple[int, float]:
    """(alerts received, seconds from the first failure stored to the last alert)."""
    worker = build_app(bench)
    notifier_app = build_app(bench) if bench.kind == "postgres" else worker
    receiver = Receiver()
    handle = None
    try:
        app = worker.app
        app.create_channel(
            name="storm", type="webhook", config={"url": receiver.url}, secrets=None, actor="bench"
        )
        ids = [_failing_job(app, f"storm {i}", "storm") for i in range(jobs)]
        handle = _notifier(bench, notifier_app.app, timedelta(hours=1))
        start = time.perf_counter()
        for _ in range(per_job):
            for job_id in ids:
                _fail(app, job_id)
        receiver.wait_for(jobs, 60)
        # Let the notifier finish deciding the rest: more alerts would arrive by now.
        deadline = time.perf_counter() + 60
        while handle.notifier._decided_to != app.recorder.max_notification_id():
            if time.perf_counter() > deadline:
                break
            time.sleep(0.05)
        time.sleep(0.5)
        last = max((at for at, _ in receiver.arrivals), default=start)
        return len(receiver.arrivals), last - start
    finally:
        if handle is not None:
            handle.stop()
        receiver.close()
        if notifier_app is not worker:
            notifier_app.close()
        worker.close()


def measure_baseline(n: int) -> list[float]:
    receiver = Receiver()
    body = b'{"event":"failed","job_name":"latency"}'
    latencies: list[float] = []
    try:
        with httpx.Client(trust_env=False) as client:
            for i in range(n + 10):
                time.sleep(GAP_SECONDS)
                sent = time.perf_counter()
                client.post(receiver.url, content=body)
                if i >= 10:
                    latencies.append((receiver.arrivals[i][0] - sent) * 1000)
    finally:
        receiver.close()
    return latencies


def run(bench: BenchStore, scale: float) -> list[Result]:
    n = scaled(N_RUNS, scale, minimum=20)
    progress(f"notify latency: {n} failing runs, one at a time, idle notifier")
    ours = measure_latency(bench, n)
    progress("baseline: the same POST by httpx")
    base = measure_baseline(n)
    jobs = scaled(STORM_JOBS, scale, minimum=5)
    progress(f"notify storm: {jobs * STORM_RUNS_PER_JOB} failing runs of {jobs} jobs")
    alerts, storm_seconds = measure_storm(bench, jobs, STORM_RUNS_PER_JOB)
    how = (
        "notifier on its own application, woken by LISTEN/NOTIFY"
        if bench.kind == "postgres"
        else "notifier on the same application, woken in-process (embedded default)"
    )
    results = []
    for name, q, goal in (("p50", 0.5, GOAL_P50_MS), ("p99", 0.99, GOAL_P99_MS)):
        figure, baseline = quantile(ours, q), quantile(base, q)
        met = figure < goal
        results.append(
            Result(
                benchmark=f"notify_latency {name}",
                store=bench.kind,
                n=n,
                unit="ms",
                figure=figure,
                baseline=baseline,
                baseline_label="the same JSON POSTed by httpx to the same receiver",
                notes=(
                    f"failed run's end committed -> webhook received; {how}; goal {name} < "
                    f"{goal:g} ms: {'met' if met else 'NOT met'}; mean "
                    f"{statistics.fmean(ours):.2f} ms, max {max(ours):.2f} ms"
                ),
                extra={"goal_ms": goal, "goal_met": met, "figure_is": "ms, lower is better"},
            )
        )
    storm_met = alerts <= jobs
    results.append(
        Result(
            benchmark="notify_storm alerts",
            store=bench.kind,
            n=jobs * STORM_RUNS_PER_JOB,
            unit="alerts",
            figure=float(alerts),
            seconds=storm_seconds,
            notes=(
                f"{jobs * STORM_RUNS_PER_JOB} failing runs of {jobs} jobs, one-hour window: "
                f"{alerts} alerts (goal at most {jobs}: {'met' if storm_met else 'NOT met'}), "
                f"the last {storm_seconds:.2f} s after the first failure was stored"
            ),
            extra={"goal_max_alerts": jobs, "goal_met": storm_met},
        )
    )
    return results
