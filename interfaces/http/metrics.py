"""Prometheus text for /metrics, read from the views and the store on each scrape.

Fire lag is the delay from a scheduled run's slot to its start, over the most recent
scheduled runs (a sliding window, not a counter since start: any API replica answers the
same). Projection lag is how many notifications each view has still to process.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.store_errors import classify
from interfaces.bootstrap import System
from interfaces.health import Health

FIRE_LAG_WINDOW = 500  # most recent runs looked at
QUANTILES = (0.5, 0.9, 0.99)


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def _number(value: float) -> str:
    if value != value:
        return "NaN"
    return repr(float(value)) if isinstance(value, float) else str(value)


def fire_lags(runs: list[dict[str, Any]]) -> list[float]:
    return sorted(
        (run["started_at"] - run["scheduled_for"]).total_seconds()
        for run in runs
        if run.get("trigger") == "schedule"
        and run.get("started_at") is not None
        and run.get("scheduled_for") is not None
    )


def render_metrics(system: System, now: datetime, health: Health) -> str:
    """The health states always; the figures read from the store when it answers."""
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, Any]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            lines.append(f"{name}{labels} {_number(value)}")

    metric("jobledger_healthy", "gauge", "1 when /healthz answers 200.", [("", +health.healthy)])
    metric(
        "jobledger_store_reachable",
        "gauge",
        "1 when the event store answered the last health probe.",
        [("", int(health.store != "unreachable"))],
    )
    metric(
        "jobledger_disk_full", "gauge", "1 when the store's disk is full.",
        [("", int(health.store == "disk full"))],
    )  # fmt: skip
    metric(
        "jobledger_loop_healthy",
        "gauge",
        "1 for each loop of this process (scheduler, worker, projections) that works.",
        [(f'{{loop="{_label(state.name)}"}}', int(state.healthy)) for state in health.loops],
    )
    notifiers = getattr(system, "notifier_figures", None)  # not on every System double
    if notifiers is not None:
        _notifier_figures(notifiers(), metric)
    try:
        _store_figures(system, metric)
    except Exception as error:
        if classify(error) is None:
            raise
        # The store is away: the health figures above say so; the rest waits for it.
    return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _store_figures(system: System, metric: Any) -> None:
    runs_view = system.runs
    counts = runs_view.count_by_status()
    metric(
        "jobledger_runs",
        "gauge",
        "Runs by status, as the runs view has them.",
        [(f'{{status="{status}"}}', count) for status, count in sorted(counts.items())],
    )

    store_position = system.app.recorder.max_notification_id() or 0
    positions = system.follower.positions()
    metric(
        "jobledger_store_position",
        "gauge",
        "The last notification id in the event store.",
        [("", store_position)],
    )
    metric(
        "jobledger_projection_position",
        "gauge",
        "The last notification id each view has processed.",
        [(f'{{projection="{name}"}}', pos) for name, pos in sorted(positions.items())],
    )
    metric(
        "jobledger_projection_lag_events",
        "gauge",
        "Notifications stored but not yet processed, by view.",
        [
            (f'{{projection="{name}"}}', max(0, store_position - pos))
            for name, pos in sorted(positions.items())
        ],
    )

    _fire_lag_summary(runs_view.list_runs(limit=FIRE_LAG_WINDOW)[0], metric)

    logs_view = system.logs
    count_entries = getattr(logs_view, "count_entries", None)
    if count_entries is not None:
        metric(
            "jobledger_log_entries_recorded",
            "gauge",
            "Log entries recorded (kept at or above each job's threshold), all runs.",
            [("", count_entries())],
        )
    retention_store = getattr(system, "retention_store", None)
    if retention_store is None:
        return
    retention = retention_store()
    metric(
        "jobledger_store_bytes",
        "gauge",
        "Bytes the store takes (SQLite: its file's pages; PostgreSQL: the schema's tables).",
        [("", retention.store_bytes())],
    )
    metric(
        "jobledger_log_entries_purged_total",
        "counter",
        "Log entries deleted by retention from this store, ever.",
        [("", retention.purged_entries())],
    )


def _notifier_figures(notifiers: list[dict[str, Any]], metric: Any) -> None:
    """This process's notifiers (`jobledger serve` runs one; the API alone none): their
    counters start at zero with the process. Nothing at all where no notifier runs."""
    if not notifiers:
        return
    where = "by the notifier of this process (process-local: only a process serving the API "
    where += "with a notifier, `jobledger serve`, reports it; reset on restart)"
    metric(
        "jobledger_notification_attempts_total",
        "counter",
        "Delivery attempts by outcome (delivered, retrying: failed and due again, given_up) "
        + where
        + ".",
        [
            (f'{{outcome="{outcome}"}}', sum(n["attempts"][outcome] for n in notifiers))
            for outcome in sorted(notifiers[0]["attempts"])
        ],
    )
    metric(
        "jobledger_notification_deliveries_pending",
        "gauge",
        "Deliveries waiting to be sent or retried, as this process's notifier knows them (it "
        "reads every delivery in the store at start-up, so store-wide).",
        [("", max(n["pending_deliveries"] for n in notifiers))],
    )
    latencies = [n["last_latency_seconds"] for n in notifiers]
    known = [value for value in latencies if value is not None]
    metric(
        "jobledger_notification_last_delivery_latency_seconds",
        "gauge",
        "From a delivery's request to its receiver's acknowledgement, for the last delivery "
        + where
        + "; NaN before the first.",
        [("", known[-1] if known else float("nan"))],
    )


def _fire_lag_summary(recent: list[dict[str, Any]], metric: Any) -> None:
    """The fire-lag summary (quantiles, sum, count) over the latest runs."""
    lags = fire_lags(recent)
    samples: list[tuple[str, Any]] = [
        (f'{{quantile="{q}"}}', _quantile(lags, q)) for q in QUANTILES
    ]
    samples += [("_sum", float(sum(lags))), ("_count", len(lags))]
    metric(
        "jobledger_fire_lag_seconds",
        "summary",
        "Delay from a scheduled run's slot to its start, over the scheduled runs among the "
        f"latest {FIRE_LAG_WINDOW} runs.",
        samples,
    )
