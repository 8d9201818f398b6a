"""Where the store is (a SQLite file or a PostgreSQL database), read from a URL, and what
every store's eventsourcing configuration shares. Each store's own configuration (its
persistence module) is its backend's: adapters.sqlite_backend, adapters.postgres_backend."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from eventsourcing.persistence import InfrastructureFactory, TrackingRecorder
from eventsourcing.utils import Environment
from psycopg.conninfo import make_conninfo

from domain.errors import InvalidInput

TView = TypeVar("TView", bound=TrackingRecorder)


@dataclass(frozen=True, repr=False)
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
        # The password is one of JobLedger's own secrets: never print it. (What a person
        # reads about the store is its backend's `describe()`.)
        return (
            f"StoreSettings(kind={self.kind!r}, sqlite_path={self.sqlite_path!r}, "
            f"host={self.host!r}, port={self.port}, dbname={self.dbname!r}, "
            f"user={self.user!r}, schema={self.schema!r})"
        )


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


def encoding_env() -> dict[str, str]:
    """What every store's eventsourcing environment starts from: our orjson encoding, and
    tables created on first start."""
    return {
        "TRANSCODER_TOPIC": "adapters.orjson_transcoder:OrjsonTranscoder",
        "MAPPER_TOPIC": "adapters.orjson_transcoder:TypedMapper",
        "CREATE_TABLE": "y",
    }


def open_view(name: str, view_class: type[TView], env: dict[str, str]) -> TView:
    """A view (a tracking recorder) named `name` in the store that `env` configures."""
    factory = InfrastructureFactory.construct(Environment(name, env))
    view = factory.tracking_recorder(view_class)
    assert isinstance(view, view_class)  # eventsourcing types it as its base class
    return view


def conninfo(store: StoreSettings) -> str:
    return make_conninfo(
        host=store.host,
        port=store.port,
        dbname=store.dbname,
        user=store.user,
        password=store.password or None,
    )
