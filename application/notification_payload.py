"""The JSON a notification carries: documented in the README ("Notifications"), the same
for every channel type (Slack, Teams and email render it as text).

Nothing secret goes in: the error tail is the run's recorded error, which the engine's
redaction has already masked, and a channel's own settings never appear.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from domain.run import Run

ERROR_TAIL = 1_000
PAYLOAD_VERSION = 1


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def run_payload(
    *,
    delivery_id: UUID,
    event: str,
    run: Run,
    job_name: str,
    base_url: str,
    failures: int,
    suppressed: int,
) -> dict[str, Any]:
    duration = None
    if run.started_at is not None and run.finished_at is not None:
        duration = round((run.finished_at - run.started_at).total_seconds(), 3)
    error = run.error
    if error is not None and len(error) > ERROR_TAIL:
        error = "…" + error[-ERROR_TAIL:]
    return {
        "version": PAYLOAD_VERSION,
        "id": str(delivery_id),
        "event": event,
        "job_id": str(run.job_id),
        "job_name": job_name,
        "run_id": str(run.id),
        "status": str(run.status),
        "trigger": run.trigger,
        "attempt": run.attempt,
        "scheduled_for": _iso(run.scheduled_for),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "duration_seconds": duration,
        "exit_code": run.exit_code,
        "error": error,
        "failures": failures,
        "suppressed": suppressed,
        "run_url": f"{base_url.rstrip('/')}/runs/{run.id}",
    }


def silence_payload(
    *,
    delivery_id: UUID,
    job_id: UUID,
    job_name: str,
    expected_at: datetime,
    last_run_at: datetime | None,
    base_url: str,
) -> dict[str, Any]:
    """A `missed` notification for a job that did not run when its schedule said it would:
    there is no run, so the link goes to the job's page."""
    return {
        "version": PAYLOAD_VERSION,
        "id": str(delivery_id),
        "event": "missed",
        "job_id": str(job_id),
        "job_name": job_name,
        "run_id": None,
        "status": "not_run",
        "trigger": "schedule",
        "scheduled_for": _iso(expected_at),
        "last_run_at": _iso(last_run_at),
        "failures": 0,
        "suppressed": 0,
        "run_url": f"{base_url.rstrip('/')}/jobs/{job_id}",
    }
