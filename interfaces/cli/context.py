"""Opening the system for one command, and the arguments several commands share."""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from uuid import UUID

from adapters.store_backend import backend_for
from application import name_backfill
from interfaces.bootstrap import System, build
from interfaces.settings import Settings
from interfaces.store_location import require_store


@contextmanager
def opened(*, catch_up: bool = False, create: bool = False) -> Iterator[System]:
    """Build the system from the environment; with `catch_up`, bring the views up to date.

    Only `create` (`jobledger serve` and `init`) makes a store and master key that do not
    exist yet; every other command refuses, naming the store it looked for."""
    settings = Settings.from_env()
    if create:
        # A new master key only with a new store: an existing store's secrets are wrapped
        # under its own key, and a new one would leave them undecryptable.
        presence = backend_for(settings.store).presence()
        new_key = presence.reachable and not presence.initialised
    else:
        require_store(settings)
        new_key = False
    system = build(settings, create=create, create_key=new_key)
    try:
        if catch_up:
            system.catch_up()
        yield system
    finally:
        system.close()


def reserve_legacy_names(system: System, say: Callable[[str], None]) -> None:
    """Once per store, at the start of a process that serves requests: reserve the names of
    jobs registered before names were unique (see application.name_backfill)."""
    done = name_backfill.reserve_legacy_names(system.app)
    if done.shared:
        say(
            f"{done.shared} job(s) share a name with an earlier job; the jobs list flags "
            "them (name_shared_with): rename them"
        )


def job_id(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a job id (a UUID)") from None


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def actor() -> str:
    """The principal recorded on events caused from this command line."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"
