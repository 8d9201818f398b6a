"""`jobledger serve`: the embedded all-in-one process."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from interfaces.cli.context import follow_until_signalled, opened


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "serve",
        help="run JobLedger in one process (keeps the read models up to date)",
        description="Run JobLedger in one process on the configured store. In this version it "
        "keeps the projections (jobs, runs, logs, audit views) up to date; stop with Ctrl-C.",
    )
    parser.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    with opened() as system:
        settings = system.settings
        print(f"JobLedger serving on {settings.store.describe()} (data in {settings.data_dir})")
        sys.stdout.flush()
        follow_until_signalled(system)
    return 0
