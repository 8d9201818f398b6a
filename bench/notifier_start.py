"""Notifier start-up over a long history: how long a notifier takes, at its first pass, to
know which deliveries are pending, with 50,000 settled deliveries (requested, claimed,
delivered: 150,000 events) and 10 pending ones in the store.

JobLedger: a notifier restarted on the store's saved pending deliveries and their position
(`adapters.notifier_deliveries`): it loads the pending rows, checks each against its
aggregate, and reads the delivery events after the position (none).

Baseline, in the same run: the start-up before that table existed (a notifier with its
pending deliveries in memory): every delivery event of the log read, and every delivery
loaded, at each start.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from bench.common import BenchStore, Result, build_system, progress, scaled

N_SETTLED = 50_000
N_PENDING = 10
SAVE_BATCH = 500  # deliveries per transaction while writing the history


def run(bench: BenchStore, scale: float) -> list[Result]:
    from adapters.senders import default_senders
    from application.notification_commands import NotifySettings
    from application.ports import ThreadWakeup
    from domain import delivery as deliveries
    from notifier.notifier import Notifier
    from notifier.ports import MemoryPendingDeliveries, MemoryPosition

    n = scaled(N_SETTLED, scale, minimum=SAVE_BATCH)
    system = build_system(bench)
    try:
        app = system.app
        channel = app.create_channel(
            name="on-call", type="webhook", config={"url": "http://127.0.0.1:9/"},
            secrets=None, actor="bench",
        )  # fmt: skip
        now = datetime.now(UTC)
        progress(f"notifier_start [{bench.kind}]: writing {n:,} settled deliveries")
        for start in range(0, n + N_PENDING, SAVE_BATCH):
            batch = []
            for i in range(start, min(start + SAVE_BATCH, n + N_PENDING)):
                d = deliveries.request(
                    run_id=uuid4(), job_id=uuid4(), channel_id=channel.id,
                    channel_name="on-call", event="failed",
                    payload={"event": "failed", "n": i}, at=now,
                )  # fmt: skip
                if i < n:  # settled; the last N_PENDING wait for their retry
                    d.claim("bench", now, timedelta(seconds=90))
                    d.succeeded(200)
                batch.append(d)
            app.save(*batch)

        def first_pass(pending_store: object) -> tuple[float, int]:
            notifier = Notifier(
                app, _Fixed(now), MemoryPosition(), default_senders(), NotifySettings(),
                ThreadWakeup(), deliveries=pending_store,  # type: ignore[arg-type]
            )  # fmt: skip
            try:
                started = time.perf_counter()
                notifier.track()
                return time.perf_counter() - started, len(notifier.pending())
            finally:
                notifier.close()

        progress(f"notifier_start [{bench.kind}]: start without the saved pending deliveries")
        before_s, before_pending = first_pass(MemoryPendingDeliveries())
        table = system.backend.notifier_deliveries()
        first_pass(table)  # the one start that reads the history, and saves what is pending
        table.close()
        progress(f"notifier_start [{bench.kind}]: restart from the saved pending deliveries")
        samples = []
        for _ in range(5):
            table = system.backend.notifier_deliveries()
            seconds, after_pending = first_pass(table)
            table.close()
            samples.append(seconds)
        after_s = sorted(samples)[len(samples) // 2]
        assert before_pending == after_pending == N_PENDING, (before_pending, after_pending)
        progress(
            f"notifier_start [{bench.kind}]: {after_s * 1000:.1f} ms (median of 5) against "
            f"{before_s * 1000:.0f} ms reading the whole history"
        )
    finally:
        system.close()
    return [
        Result(
            benchmark="notifier start",
            store=bench.kind,
            n=n,
            unit="ms",
            figure=after_s * 1000,
            baseline=before_s * 1000,
            baseline_label="reading every delivery event of the history (before)",
            seconds=after_s,
            baseline_seconds=before_s,
            notes=f"{n:,} settled + {N_PENDING} pending deliveries; median of 5 restarts",
        )
    ]


class _Fixed:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at
