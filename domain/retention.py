"""Retention: how long a run keeps its log and how long the run itself is kept.

A job may set `log_retention_days`, `run_retention_days` and `keep_last_runs` among its
policies (`domain.job_policies`); unset ones take the global defaults (settings). These
rules are pure: the sweep (`application.retention`) asks them what each finished run is
due for, given its age and its rank among its job's finished runs (0 = the newest).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from domain.errors import InvalidInput

DEFAULT_LOG_RETENTION_DAYS = 30
DEFAULT_RUN_RETENTION_DAYS = 400
# About a century: a longer period is a typo, and timedelta would overflow near 10**9 days.
MAX_RETENTION_DAYS = 36_500
MAX_KEEP_LAST_RUNS = 100_000


class Due(Enum):
    """What a finished run is due for."""

    NOTHING = "nothing"
    LOG_PURGE = "log_purge"  # its log is past log_retention_days
    REDUCTION = "reduction"  # the run is past run_retention_days


@dataclass(frozen=True)
class RetentionPolicy:
    """One job's effective retention (its own settings over the global defaults)."""

    log_days: int = DEFAULT_LOG_RETENTION_DAYS
    run_days: int = DEFAULT_RUN_RETENTION_DAYS
    keep_last: int | None = None

    def due(self, finished_at: datetime, now: datetime, rank: int) -> Due:
        """What a run that finished at `finished_at` is due for at `now`. The last
        `keep_last` runs keep their logs whatever their age, but not past run_days: a run
        is never kept longer than the job says runs are kept."""
        age = now - finished_at
        if age >= timedelta(days=self.run_days):
            return Due.REDUCTION
        kept = self.keep_last is not None and rank < self.keep_last
        # 0 days: purged at the first sweep after the run ends (sensitive output).
        if not kept and age >= timedelta(days=self.log_days):
            return Due.LOG_PURGE
        return Due.NOTHING

    def reason(self, due: Due) -> str:
        """Why, in words recorded on the run's event."""
        if due is Due.REDUCTION:
            return f"run_retention_days={self.run_days}"
        return f"log_retention_days={self.log_days}"

    @property
    def youngest_due_days(self) -> int:
        """Runs younger than this many days are due for nothing."""
        return min(self.log_days, self.run_days)


def policy_for(policies: Mapping[str, Any], defaults: RetentionPolicy) -> RetentionPolicy:
    """A job's effective retention: its policies where set (not None), else `defaults`."""
    log_days = policies.get("log_retention_days")
    run_days = policies.get("run_retention_days")
    keep_last = policies.get("keep_last_runs")
    return RetentionPolicy(
        log_days=defaults.log_days if log_days is None else int(log_days),
        run_days=defaults.run_days if run_days is None else int(run_days),
        keep_last=defaults.keep_last if keep_last is None else int(keep_last),
    )


def retention_days(value: object, field: str, *, minimum: int) -> int | None:
    """A number of whole days from `minimum` up, or None (the global default)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(field, f"must be a whole number of days, at least {minimum}, or null")
    if value > MAX_RETENTION_DAYS:
        raise InvalidInput(field, f"must be at most {MAX_RETENTION_DAYS} days")
    return value


def keep_last_runs(value: object) -> int | None:
    """How many of a job's last runs keep their logs whatever their age, or None (none)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput("keep_last_runs", "must be a whole number of runs, 0 or more, or null")
    if value > MAX_KEEP_LAST_RUNS:
        raise InvalidInput("keep_last_runs", f"must be at most {MAX_KEEP_LAST_RUNS}")
    return value
