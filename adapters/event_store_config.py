"""How a store setting becomes eventsourcing's configuration: persistence module, connection
and our orjson encoding. Nothing else in JobLedger names a persistence module."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from psycopg.conninfo import make_conninfo

from adapters.file_modes import private_sqlite_file
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


def store_env(store: StoreSettings) -> dict[str, str]:
    """The eventsourcing environment for a store, with our orjson encoding."""
    env = {
        "TRANSCODER_TOPIC": "adapters.orjson_transcoder:OrjsonTranscoder",
        "MAPPER_TOPIC": "adapters.orjson_transcoder:TypedMapper",
        "CREATE_TABLE": "y",
    }
    if store.kind == "sqlite":
        assert store.sqlite_path is not None
        private_sqlite_file(store.sqlite_path)  # 0600, before eventsourcing opens it
        env.update(
            PERSISTENCE_MODULE="eventsourcing.sqlite",
            SQLITE_DBNAME=str(store.sqlite_path),
            SQLITE_LOCK_TIMEOUT="30",
        )
    else:
        env.update(
            PERSISTENCE_MODULE="eventsourcing.postgres",
            APPLICATION_RECORDER_TOPIC="adapters.postgres_recorder:PostgresEventRecorder",
            POSTGRES_DBNAME=store.dbname,
            POSTGRES_HOST=store.host,
            POSTGRES_PORT=str(store.port),
            POSTGRES_USER=store.user,
            POSTGRES_PASSWORD=store.password,
            POSTGRES_SCHEMA=store.schema,
            POSTGRES_POOL_SIZE="4",
            POSTGRES_MAX_OVERFLOW="8",
        )
    return env


def conninfo(store: StoreSettings) -> str:
    return make_conninfo(
        host=store.host,
        port=store.port,
        dbname=store.dbname,
        user=store.user,
        password=store.password or None,
    )
