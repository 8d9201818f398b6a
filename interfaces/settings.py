"""One settings object, read from the environment, that the composition root turns into a system."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from adapters.event_store_config import StoreSettings, parse_database_url


@dataclass(frozen=True, repr=False)
class Settings:
    """Everything JobLedger reads from its environment, checked once at start."""

    store: StoreSettings
    data_dir: Path
    master_key: str | None  # the key itself (base64) or the path of a key file

    def __repr__(self) -> str:
        return f"Settings(store={self.store!r}, data_dir={self.data_dir})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("JOBLEDGER_DATA_DIR") or "./jobledger-data")
        url = env.get("JOBLEDGER_DATABASE_URL") or ""
        store = parse_database_url(url) if url else default_store(data_dir)
        return cls(store=store, data_dir=data_dir, master_key=env.get("JOBLEDGER_MASTER_KEY"))


def default_store(data_dir: Path) -> StoreSettings:
    return StoreSettings(kind="sqlite", sqlite_path=data_dir / "jobledger.sqlite3")
