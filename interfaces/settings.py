"""One settings object, read from the environment, that the composition root turns into a system."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from domain.errors import InvalidInput


@dataclass(frozen=True)
class StoreSettings:
    """Where events and views live: a SQLite file or a PostgreSQL database (and schema)."""

    kind: str  # "sqlite" | "postgres"
    sqlite_path: Path | None = None
    host: str = ""
    port: int = 5432
    dbname: str = ""
    user: str = ""
    password: str = ""
    schema: str = "public"

    def __repr__(self) -> str:
        # The password is one of JobLedger's own secrets: never print it.
        if self.kind == "sqlite":
            return f"StoreSettings(sqlite:///{self.sqlite_path})"
        return f"StoreSettings(postgresql://{self.user}@{self.host}:{self.port}/{self.dbname})"

    def describe(self) -> str:
        return repr(self)[len("StoreSettings(") : -1]


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


def parse_database_url(url: str) -> StoreSettings:
    """`sqlite:///relative/or//absolute/path` or `postgresql://user:pass@host:port/db?schema=s`."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        # sqlite:///data/x.db is relative (as in SQLAlchemy); sqlite:////abs/x.db is absolute.
        path = path[1:] if path.startswith("/") else path
        if not path:
            raise InvalidInput("JOBLEDGER_DATABASE_URL", "a sqlite URL needs a file path")
        return StoreSettings(kind="sqlite", sqlite_path=Path(path))
    if parts.scheme in ("postgresql", "postgres"):
        query = parse_qs(parts.query)
        dbname = unquote(parts.path.lstrip("/"))
        if not dbname:
            raise InvalidInput("JOBLEDGER_DATABASE_URL", "a postgresql URL needs a database name")
        return StoreSettings(
            kind="postgres",
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            dbname=dbname,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            schema=query.get("schema", ["public"])[0],
        )
    raise InvalidInput(
        "JOBLEDGER_DATABASE_URL",
        f"unsupported scheme {parts.scheme!r}; use sqlite:///path or postgresql://...",
    )
