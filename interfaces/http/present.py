"""How jobs look in API responses, whether read from the jobs view or from a Job aggregate
(a command's result, or the job as it was at a past time): one shape for both."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from application.job_commands import POLICY_FIELDS
from domain.errors import InvalidInput
from domain.job import Job
from domain.job_policies import DEFAULT_POLICIES
from domain.schedule import CronSchedule


def schedule_facts(
    schedule: dict[str, str] | None, enabled: bool, now: datetime | None
) -> tuple[str | None, datetime | None]:
    """(the schedule in words, its next fire time after `now`) for a job's schedule.

    Computed on read: a change of schedule shows its next run at once, whatever the
    scheduler has got to. No next run for a disabled job, nor when `now` is None (a job as
    it was in the past)."""
    if schedule is None:
        return None, None
    facts = _parsed(schedule["cron"], schedule.get("timezone") or "UTC")
    if facts is None:  # stored by an older rule that no longer accepts it
        return None, None
    parsed, description = facts
    upcoming = None
    if enabled and now is not None:
        try:
            upcoming = parsed.next_fire_time(now)
        except ValueError:  # does not fire again
            upcoming = None
    return description, upcoming


@lru_cache(maxsize=4096)
def _parsed(cron: str, timezone: str) -> tuple[CronSchedule, str] | None:
    """A schedule and its description, parsed once per distinct schedule (a page of jobs
    mostly repeats a few)."""
    try:
        schedule = CronSchedule.parse(cron, timezone)
    except InvalidInput:
        return None
    return schedule, schedule.describe()


def job_from_view(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    description, upcoming = schedule_facts(row["schedule"], row["enabled"], now)
    return _job(
        row, row["policies"], row["secrets"], description, upcoming, last_run_of(row), False
    )


def job_from_aggregate(
    job: Job,
    *,
    updated_by: str,
    now: datetime | None,
    last_run: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A replayed job; `now` None for a past state (no next run)."""
    state = {
        **job.configuration(),
        "created_at": job.created_on,
        "created_by": job.created_by,
        "updated_at": job.modified_on,
        "updated_by": updated_by,
        "name_shared_with": job.name_shared_with,
    }
    live = not job.deleted
    description, upcoming = schedule_facts(job.schedule, job.enabled and live, now)
    return _job(
        state, job.policies, job.secret_names(), description, upcoming, last_run, job.deleted
    )


def last_run_of(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """The last-run summary of a jobs-view row, if it has one."""
    if row is None or row.get("last_run_id") is None:
        return None
    return {
        "id": row["last_run_id"],
        "status": row["last_run_status"],
        "requested_at": row["last_run_at"],
    }


def _job(
    state: dict[str, Any],
    policies: dict[str, Any],
    secrets: list[dict[str, Any]],
    schedule_description: str | None,
    next_run_at: datetime | None,
    last_run: dict[str, Any] | None,
    deleted: bool,
) -> dict[str, Any]:
    schedule = state["schedule"]
    return {
        "id": state["id"],
        "version": state["version"],
        "name": state["name"],
        "description": state["description"],
        "job_type": state["job_type"],
        "program": state["program"],
        "parameters": state["parameters"],
        "parameters_schema": state.get("parameters_schema"),
        "schedule": None
        if schedule is None
        else {"cron": schedule["cron"], "timezone": schedule["timezone"]},
        "schedule_description": schedule_description,
        "log_level": state["log_level"],
        "enabled": state["enabled"],
        **{key: policies.get(key, DEFAULT_POLICIES[key]) for key in POLICY_FIELDS},
        "folder": state.get("folder", ""),
        "tags": list(state.get("tags", ())),
        "secrets": [
            {"name": s["name"], "updated_at": s["updated_at"], "updated_by": s["updated_by"]}
            for s in secrets
        ],
        "next_run_at": next_run_at,
        "last_run": last_run,
        # Registered before names were unique: the earlier job that holds this name.
        "name_shared_with": state.get("name_shared_with"),
        "created_at": state["created_at"],
        "created_by": state["created_by"],
        "updated_at": state["updated_at"],
        "updated_by": state["updated_by"],
        "deleted": deleted,
    }


def audit_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """An audit trail row as the API shows it: a history entry, with what was done
    (`action`), its `details` and the stream it was recorded on."""
    return {
        **history_entry(entry),
        "action": entry["action"],
        "details": entry["details"],
        "stream_id": entry["stream_id"],
    }


def history_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """An audit row as the API shows it (the view's keys, in a fixed order)."""
    return {
        "job_id": entry["job_id"],
        "job_name": entry["job_name"],
        "version": entry["version"],
        "event": entry["event"],
        "at": entry["at"],
        "actor": entry["actor"],
        "changes": entry["changes"],
    }
