"""Retention: what 1,000,000 log entries cost in the store, and a sweep of 1,000,000 expired
entries while a run keeps writing logs and clients keep reading the HTTP API.

Set-up: one job (threshold Verbose), `n` entries in runs of 10,000 (100,000 by default, so
`make bench` stays short; `python -m bench --only retention --full-retention` for the
issue's 1,000,000; times --scale either way),
written in batches of 1,000 and projected into the logs view; every run finished. Measured:

- store bytes per 1,000,000 entries: the store's size grown by the entries (events, logs
  view, indexes), scaled to 1,000,000. Baseline: the bytes of the messages themselves.
- the sweep: `RetentionSweep.run()` from a clock 31 days on, so every log is expired; its
  duration and its rate (entries/s), while a writer records 1,000-entry batches on a live
  run and a client reads `/api/runs` and a live run's `/api/runs/{id}/logs` through the
  real HTTP server in the same process (as `jobledger serve` runs the sweep).
- the API's p99 during the sweep against the p99 of the same load just before it without
  a sweep (goal: within 2x).
"""

from __future__ import annotations

import statistics
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import BenchStore, Result, build_system, progress, rate, scaled
from bench.log_entries import make_entries

FULL_ENTRIES = 1_000_000  # the size: --full-retention
N_ENTRIES = 100_000  # the default, kept small for `make bench`
PER_RUN = 10_000
BATCH = 1_000
BASELINE_SECONDS = 10.0  # the load without a sweep, before it


class _Later:
    """The clock of a sweep run `ahead` from now: every finished run's log is expired."""

    def __init__(self, ahead: timedelta) -> None:
        self.ahead = ahead

    def now(self) -> datetime:
        return datetime.now(UTC) + self.ahead


class Load:
    """A writer of log batches and a reader of the API, until stopped; keeps latencies."""

    def __init__(self, system: Any, url: str, token: str, run_id: Any, log: Any) -> None:
        self.system, self.url, self.token, self.run_id, self.log = system, url, token, run_id, log
        self.stop = threading.Event()
        self.latencies: list[tuple[float, float]] = []  # (start, seconds)
        self.written = 0
        self.threads = [
            threading.Thread(target=self._write, daemon=True),
            threading.Thread(target=self._read, daemon=True),
        ]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)

    def _write(self) -> None:
        entries = make_entries(BATCH, seed=11)
        while not self.stop.is_set():
            now = datetime.now(UTC)
            batch = [(now, level, message) for _at, level, message in entries]
            self.system.app.record_log_entries(self.log, batch)
            self.written += BATCH
            self.stop.wait(0.05)  # ~20,000 entries/s: a busy job

    def _read(self) -> None:
        paths = ["/api/runs?limit=20", f"/api/runs/{self.run_id}/logs?limit=100"]
        i = 0
        while not self.stop.is_set():
            request = urllib.request.Request(
                self.url + paths[i % 2], headers={"Authorization": f"Bearer {self.token}"}
            )
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
            self.latencies.append((started, time.perf_counter() - started))
            i += 1

    def p99_ms(self, since: float, until: float) -> tuple[float, int]:
        window = sorted(s for at, s in self.latencies if since <= at < until)
        if len(window) < 2:
            return float("nan"), len(window)
        return statistics.quantiles(window, n=100)[98] * 1000, len(window)


def run(bench: BenchStore, scale: float) -> list[Result]:
    from application.retention import RetentionSweep
    from domain.log_level import LogLevel
    from domain.retention import RetentionPolicy
    from interfaces.http.app import create_app
    from interfaces.http.server import BackgroundServer

    n = scaled(N_ENTRIES, scale, minimum=PER_RUN)
    n -= n % PER_RUN
    system = build_system(bench)
    tokens = system.backend.token_store()
    try:
        app = system.app
        job = app.register_job(
            name="chatty",
            job_type="command",
            program={"argv": ["true"]},
            actor="bench",
            log_level="Verbose",
            policies={"log_retention_days": 30},
        )
        system.catch_up()
        before = system.retention_store().store_bytes()
        entries = make_entries(PER_RUN)
        message_bytes = sum(len(m.encode()) for _at, _level, m in entries) * (n // PER_RUN)
        progress(f"retention [{bench.kind}]: writing {n:,} entries in {n // PER_RUN} runs")
        for _ in range(n // PER_RUN):
            run_ = app.request_run(job.id, actor="bench")
            log = app.open_run_log(run_)
            for start in range(0, PER_RUN, BATCH):
                app.record_log_entries(log, entries[start : start + BATCH])
            app.start_run(run_.id, worker="bench")
            app.succeed_run(run_.id)
        system.catch_up()
        system.retention_store().reclaim()
        grown = system.retention_store().store_bytes() - before
        per_million = grown * 1_000_000 / n
        progress(f"retention [{bench.kind}]: {per_million / 1e6:,.1f} MB per 1M entries")

        live = app.request_run(job.id, actor="bench")
        live_log = app.open_run_log(live)
        app.record_log_entries(live_log, [(datetime.now(UTC), LogLevel.Info, "live")])
        app.start_run(live.id, worker="bench")
        principal, token = app.create_token(tokens, "bench", "viewer", actor="bench")
        del principal
        system.start_projections()
        server = BackgroundServer(create_app(system, tokens), "127.0.0.1", 0).start()
        clock = _Later(timedelta(days=31))
        sweep = RetentionSweep(app, system.retention_store(), clock, RetentionPolicy())
        try:
            with Load(system, server.url, token, live.id, live_log) as load:
                calm_from = time.perf_counter()
                time.sleep(BASELINE_SECONDS)
                calm_to = time.perf_counter()
                progress(f"retention [{bench.kind}]: sweeping {n:,} expired entries")
                report = sweep.run()
                swept_to = time.perf_counter()
        finally:
            server.stop()
        sweep_s = swept_to - calm_to
        assert report.entries_purged == n, (report.entries_purged, n)
        calm_p99, calm_n = load.p99_ms(calm_from, calm_to)
        sweep_p99, sweep_n = load.p99_ms(calm_to, swept_to)
        progress(
            f"retention [{bench.kind}]: sweep {sweep_s:.1f} s; API p99 {calm_p99:.1f} ms "
            f"without, {sweep_p99:.1f} ms during ({sweep_n} requests)"
        )
        after = system.retention_store().store_bytes()
    finally:
        system.close_projections()
        tokens.close()
        system.close()
    common: dict[str, Any] = {"store": bench.kind, "n": n}
    extra = {
        "store_bytes_before": before,
        "store_bytes_full": before + grown,
        "store_bytes_after_sweep": after,
        "live_entries_written_meanwhile": load.written,
        "api_p99_ms_without_sweep": calm_p99,
        "api_requests_without_sweep": calm_n,
        "api_p99_ms_during_sweep": sweep_p99,
        "api_requests_during_sweep": sweep_n,
        "sweep_seconds": sweep_s,
    }
    return [
        Result(
            benchmark="retention store bytes",
            unit="MB/1M entries",
            figure=per_million / 1e6,
            baseline=message_bytes * 1_000_000 / n / 1e6,
            baseline_label="the messages' own bytes (UTF-8), per 1M entries",
            notes="events + logs view + indexes, grown by the entries",
            extra={"bytes": grown},
            **common,
        ),
        Result(
            benchmark="retention sweep",
            unit="entries/s",
            figure=rate(n, sweep_s),
            seconds=sweep_s,
            notes=f"{n // PER_RUN} expired logs while a run writes ~20,000 entries/s",
            extra=extra,
            **common,
        ),
        Result(
            benchmark="retention API p99 during sweep",
            unit="ms",
            figure=sweep_p99,
            baseline=calm_p99,
            baseline_label="the same load's p99 in the 10 s before the sweep",
            notes="goal: within 2x of the p99 without a sweep",
            extra={"within_2x": sweep_p99 <= 2 * calm_p99},
            **common,
        ),
    ]
