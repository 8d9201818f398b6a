"""One settings object, read from the environment, that the composition root turns into a system."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from adapters.event_store_config import StoreSettings, parse_database_url
from domain.errors import InvalidInput
from interfaces.retention_settings import RetentionSettings

# A run's log keeps at most this many megabytes of messages; past it entries are counted.
DEFAULT_RUN_LOG_LIMIT_MB = 100.0
# How long a run of a type no live worker can run waits queued, if its job has no timeout.
DEFAULT_UNRUNNABLE_WAIT_SECONDS = 3600.0
UNRUNNABLE_WAIT_ENV = "JOBLEDGER_UNRUNNABLE_WAIT_SECONDS"
DEFAULT_DATA_DIR = "./jobledger-data"


@dataclass(frozen=True, repr=False)
class Settings:
    """Everything JobLedger reads from its environment, checked once at start."""

    store: StoreSettings
    data_dir: Path
    master_key: str | None  # the key itself (base64) or the path of a key file
    run_log_limit_mb: float = DEFAULT_RUN_LOG_LIMIT_MB
    unrunnable_wait_seconds: float = DEFAULT_UNRUNNABLE_WAIT_SECONDS
    # Which setting chose the store: DATABASE_URL, DATA_DIR, or DEFAULT_DATA_DIR (neither
    # was set), so a command can say how to point it at another store.
    store_from: str = "DATABASE_URL"
    retention: RetentionSettings = RetentionSettings()

    @property
    def run_log_limit_chars(self) -> int:
        return int(self.run_log_limit_mb * 1024 * 1024)

    def __repr__(self) -> str:
        return f"Settings(store={self.store!r}, data_dir={self.data_dir})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("JOBLEDGER_DATA_DIR") or DEFAULT_DATA_DIR)
        url = env.get("JOBLEDGER_DATABASE_URL") or ""
        store = parse_database_url(url) if url else default_store(data_dir)
        if url:
            store_from = "DATABASE_URL"
        else:
            store_from = "DATA_DIR" if env.get("JOBLEDGER_DATA_DIR") else "DEFAULT_DATA_DIR"
        return cls(
            store=store,
            data_dir=data_dir,
            master_key=env.get("JOBLEDGER_MASTER_KEY"),
            run_log_limit_mb=_megabytes(env.get("JOBLEDGER_RUN_LOG_LIMIT_MB")),
            unrunnable_wait_seconds=_wait_seconds(env.get(UNRUNNABLE_WAIT_ENV)),
            store_from=store_from,
            retention=RetentionSettings.from_env(env),
        )


def _megabytes(value: str | None) -> float:
    if not value:
        return DEFAULT_RUN_LOG_LIMIT_MB
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not number > 0:  # also refuses "nan"
        raise InvalidInput("JOBLEDGER_RUN_LOG_LIMIT_MB", f"{value!r} is not a size above 0 MB")
    return number


def _wait_seconds(value: str | None) -> float:
    if not value:
        return DEFAULT_UNRUNNABLE_WAIT_SECONDS
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not number > 0 or number == float("inf"):  # also refuses "nan"
        raise InvalidInput(UNRUNNABLE_WAIT_ENV, f"{value!r} is not a number of seconds above 0")
    return number


def default_store(data_dir: Path) -> StoreSettings:
    return StoreSettings(kind="sqlite", sqlite_path=data_dir / "jobledger.sqlite3")
