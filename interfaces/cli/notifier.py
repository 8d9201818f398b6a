"""`jobledger notifier`: the notifier as a process of its own, against the configured store.

Several may run side by side on PostgreSQL: each run outcome is decided once and each
delivery attempt is claimed by one of them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from interfaces.cli.context import opened
from interfaces.notifier_runtime import start_notifier
from interfaces.notify_settings import notify_settings
from interfaces.signals import stop_requested, wait_for


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "notifier",
        help="send notifications of run outcomes until stopped",
        description="Follow the run outcomes, decide which notifications each causes (the "
        "jobs' `notify` rules and JOBLEDGER_NOTIFY_DEFAULT) and deliver them with retries "
        "for up to 24 hours. Runs until SIGTERM or Ctrl-C. Several may run side by side "
        "against PostgreSQL; each delivery is still sent by one at a time.",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    del args
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = notify_settings()  # bad settings: an error now, not at the first failure
    with opened() as system, stop_requested() as stop:
        handle = start_notifier(system.app, system.backend, settings, views=system)
        print(f"JobLedger notifier started on {system.backend.describe()}", flush=True)
        try:
            wait_for(stop)
        finally:
            handle.stop(timeout=None)
    sys.stdout.flush()
    return 0
