"""`jobledger init` and `jobledger status`: create the store on purpose, and see which store
the command line uses.

Only `init` and `serve` create a store; every other command refuses one that does not exist
(see interfaces.store_location), so these two are how a user starts one and finds out where
the others look.
"""

from __future__ import annotations

import argparse
from typing import Any

from adapters.store_backend import backend_for
from interfaces.cli.context import add_json_flag, opened
from interfaces.cli.output import print_fields, print_json
from interfaces.settings import Settings
from interfaces.store_location import (
    StoreNotFound,
    master_key_location,
    store_name,
    store_origin,
)


def register(commands: Any) -> None:
    init = commands.add_parser(
        "init",
        help="create the store and master key (if they do not exist yet)",
        description="Create the configured store (its tables) and, unless JOBLEDGER_MASTER_KEY "
        "is set, a master key file in JOBLEDGER_DATA_DIR. Only this and `jobledger serve` "
        "create a store; every other command refuses a store that does not exist. Running it "
        "on an existing store changes nothing.",
    )
    init.set_defaults(handler=init_store)
    status = commands.add_parser(
        "status",
        help="show which store is in use, whether it exists, and the master key's location",
        description="Show the store the command line uses (a SQLite file or a PostgreSQL "
        "database, never its password), which setting chose it, whether it exists and "
        "answers, where the master key comes from, and a few counts (jobs as the read "
        "models last saw them: `serve` or `projections` keep them current). Exit code 1 if "
        "the store "
        "or the key is missing or the store is unreachable. Creates nothing.",
    )
    add_json_flag(status)
    status.set_defaults(handler=show_status)


def init_store(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    backend = backend_for(settings.store)
    before = backend.presence()
    name = store_name(settings, backend)
    if not before.reachable:
        raise StoreNotFound(f"the store {name} is unreachable: {before.problem}")
    with opened(create=True) as system:
        system.backend.token_store().close()  # its table too, so `status` counts tokens
    key = master_key_location(settings)
    if before.initialised:
        print(f"The store {name} exists already; nothing changed. Master key: {key.where}.")
    else:
        print(
            f"Created a JobLedger store at {name}. Master key: {key.where} (back it up). "
            "`jobledger serve` prints a first administrator token on its first start."
        )
    return 0


def show_status(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    backend = backend_for(settings.store)
    presence = backend.presence()
    key = master_key_location(settings)
    if not presence.reachable:
        state = f"unreachable: {presence.problem}"
    elif not presence.initialised:
        state = f"not initialised: {presence.problem} (`jobledger init` creates it)"
    else:
        state = "ready"
    report: dict[str, Any] = {
        "store": store_name(settings, backend),
        "chosen": store_origin(settings),
        "state": state,
        "reachable": presence.reachable,
        "initialised": presence.initialised,
        "master_key": key.where if key.exists else f"{key.where} (missing)",
        **presence.counts,
    }
    if args.json:
        print_json(report)
    else:
        print_fields({k: v for k, v in report.items() if k not in ("reachable", "initialised")})
    return 0 if presence.initialised and key.exists else 1
