"""`jobledger`: the command line. Exit codes: 0 done, 1 failed (not found, conflict, store
unreachable), 2 bad usage or invalid input."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from domain.errors import Conflict, InvalidInput, JobLedgerError, NotFound
from interfaces.cli import (
    api,
    jobs,
    keys,
    projections,
    retention,
    scheduler,
    secrets,
    serve,
    store,
    tokens,
    triggers,
    worker,
)
from interfaces.store_location import help_text

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="jobledger",
        description="Schedule, run and record batch jobs. Every change is an immutable event.",
        # Laid out by hand: argparse would break the store's path across lines.
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="The store: JOBLEDGER_DATABASE_URL (sqlite:///path or postgresql://...), by\n"
        "default a SQLite file in JOBLEDGER_DATA_DIR (./jobledger-data). Only `serve` and\n"
        "`init` create a store; other commands refuse one that does not exist.\n"
        f"{help_text()}\n"
        "Exit codes: 0 done, 1 failed, 2 bad usage or invalid input.",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = (
        serve,
        api,
        scheduler,
        worker,
        projections,
        store,
        jobs,
        secrets,
        tokens,
        triggers,
        keys,
    )
    for module in (*modules, retention):
        module.register(commands)
    # Imported here to keep the line above as it was: the notifier's process, after the rest.
    from interfaces.cli import channels, notifier

    notifier.register(commands)
    channels.register(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int | None] = args.handler
    try:
        return handler(args) or EXIT_OK
    except InvalidInput as error:
        for each in error.errors:  # every field at fault, one line each
            print(f"jobledger: invalid {each.field}: {each.message}", file=sys.stderr)
        return EXIT_USAGE
    except (NotFound, Conflict) as error:
        print(f"jobledger: {error}", file=sys.stderr)
        return EXIT_FAILED
    except JobLedgerError as error:
        print(f"jobledger: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
