"""Retention's settings, read from the environment: the global defaults of the per-job
retention policies, how often the scheduler process sweeps, and where logs are archived."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from domain.errors import FieldErrors, InvalidInput
from domain.retention import RetentionPolicy, keep_last_runs, retention_days

LOG_DAYS_ENV = "JOBLEDGER_LOG_RETENTION_DAYS"
RUN_DAYS_ENV = "JOBLEDGER_RUN_RETENTION_DAYS"
KEEP_LAST_ENV = "JOBLEDGER_KEEP_LAST_RUNS"
INTERVAL_ENV = "JOBLEDGER_RETENTION_INTERVAL_SECONDS"
ARCHIVE_ENV = "JOBLEDGER_ARCHIVE_DIR"
DEFAULT_INTERVAL_SECONDS = 3600.0


@dataclass(frozen=True)
class RetentionSettings:
    """The global retention defaults and the sweep's period (seconds; 0 turns it off)."""

    defaults: RetentionPolicy = field(default_factory=RetentionPolicy)
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS
    archive_dir: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RetentionSettings:
        """The settings, or one InvalidInput naming every variable at fault."""
        errors = FieldErrors()
        base = RetentionPolicy()

        def number(name: str, check: Callable[[object], int | None]) -> int | None:
            text = env.get(name)
            if not text:
                return None
            try:
                value: object = int(text)
            except ValueError:
                value = text
            return errors.check(lambda: _renamed(name, check, value))

        log_days = number(LOG_DAYS_ENV, lambda v: retention_days(v, LOG_DAYS_ENV, minimum=0))
        run_days = number(RUN_DAYS_ENV, lambda v: retention_days(v, RUN_DAYS_ENV, minimum=1))
        keep_last = number(KEEP_LAST_ENV, keep_last_runs)
        interval = errors.check(lambda: _interval(env.get(INTERVAL_ENV)))
        errors.raise_any()
        archive = env.get(ARCHIVE_ENV)
        return cls(
            defaults=RetentionPolicy(
                log_days=base.log_days if log_days is None else log_days,
                run_days=base.run_days if run_days is None else run_days,
                keep_last=keep_last,
            ),
            interval_seconds=DEFAULT_INTERVAL_SECONDS if interval is None else interval,
            archive_dir=Path(archive) if archive else None,
        )


def _renamed(name: str, check: Callable[[object], int | None], value: object) -> int | None:
    # The domain's checks name the job field; a setting's error names the variable.
    try:
        return check(value)
    except InvalidInput as error:
        raise InvalidInput(name, error.errors[0].message) from None


def _interval(text: str | None) -> float:
    if not text:
        return DEFAULT_INTERVAL_SECONDS
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if not 0 <= number < float("inf"):  # also refuses nan
        raise InvalidInput(INTERVAL_ENV, f"{text!r} is not a number of seconds, 0 or more")
    return number
