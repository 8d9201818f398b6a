"""Which store a command uses, where that came from, and the rule that only `jobledger
serve` and `jobledger init` may create one.

Every other command (and the `api`, `worker`, `scheduler` and `projections` processes)
refuses a store that does not exist yet: run from the wrong directory, it would otherwise
make a new, empty store and master key of its own, and a token minted there would be
refused by the running server. The refusal names the store it looked for (a path, or the
database URL without its password) and the settings that point elsewhere.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from adapters.master_key import ENV_VAR as MASTER_KEY_VAR
from adapters.master_key import KEY_FILE_NAME
from adapters.store_backend import StoreBackend, backend_for
from adapters.store_presence import StorePresence
from domain.errors import JobLedgerError
from interfaces.settings import Settings

HOW_TO_POINT = (
    "Point JOBLEDGER_DATABASE_URL (sqlite:///path or postgresql://...) or JOBLEDGER_DATA_DIR "
    "at the store your server uses (`jobledger status` shows which store a command would "
    "use), or run `jobledger init` to create a new store there."
)


class StoreNotFound(JobLedgerError):
    """The configured store does not exist (or was never initialised), or cannot be reached."""


def store_name(settings: Settings, backend: StoreBackend | None = None) -> str:
    """The store as a person reads it: the SQLite file's absolute path, or the database URL
    without its password (and its schema)."""
    described = (backend or backend_for(settings.store)).describe()
    if settings.store.kind == "sqlite":
        return described
    return f"{described} (schema {settings.store.schema})"


def store_origin(settings: Settings) -> str:
    """Which setting chose the store, in words."""
    if settings.store_from == "DATABASE_URL":
        return "set by JOBLEDGER_DATABASE_URL"
    data_dir = settings.data_dir
    if settings.store_from == "DATA_DIR":
        return f"in JOBLEDGER_DATA_DIR={data_dir}"
    try:
        here = str(Path.cwd())
    except OSError:  # the directory was removed under the shell
        here = "(which no longer exists)"
    return (
        f"the default {data_dir} in the current directory {here}: "
        "JOBLEDGER_DATABASE_URL and JOBLEDGER_DATA_DIR are unset"
    )


def require_store(settings: Settings, backend: StoreBackend | None = None) -> StorePresence:
    """The store's presence, if it exists and answers; else StoreNotFound saying where it
    looked and how to point elsewhere. Creates nothing."""
    backend = backend or backend_for(settings.store)
    presence = backend.presence()
    name = store_name(settings, backend)
    if not presence.reachable:
        raise StoreNotFound(
            f"the store {name} ({store_origin(settings)}) is unreachable: {presence.problem}"
        )
    if not presence.initialised:
        raise StoreNotFound(
            f"there is no JobLedger store at {name} ({store_origin(settings)}): "
            f"{presence.problem}. {HOW_TO_POINT}"
        )
    return presence


@dataclass(frozen=True)
class KeyLocation:
    """Where the master key comes from, never the key itself."""

    where: str  # a file's absolute path, or "JOBLEDGER_MASTER_KEY (the key itself)"
    exists: bool


def master_key_location(settings: Settings) -> KeyLocation:
    value = (settings.master_key or "").strip()
    if not value:
        path = (settings.data_dir / KEY_FILE_NAME).absolute()
        return KeyLocation(str(path), path.exists())
    for prefix in ("file://", "file:"):
        if value.startswith(prefix):
            path = Path(value[len(prefix) :]).absolute()
            return KeyLocation(f"{path} (from {MASTER_KEY_VAR})", path.exists())
    with contextlib.suppress(OSError, ValueError):
        if Path(value).is_file():
            return KeyLocation(f"{Path(value).absolute()} (from {MASTER_KEY_VAR})", True)
    # The value is the key itself (or a mistake that may still be mostly key): not shown.
    return KeyLocation(f"{MASTER_KEY_VAR} (the key itself)", True)


def help_text(env: dict[str, str] | None = None) -> str:
    """One sentence for `jobledger --help`: the store a command would use. Reads no store."""
    try:
        settings = Settings.from_env(os.environ if env is None else env)
        return f"Store in use: {store_name(settings)}\n  ({store_origin(settings)})."
    except JobLedgerError as error:
        return f"Store in use: none, the settings are invalid ({error})."
