"""`jobledger scheduler`: the scheduler as a process of its own, against the configured store.

Any number may run side by side on PostgreSQL: each slot still fires once.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import timedelta
from typing import Any

from adapters.store_backend import backend_for
from domain.errors import InvalidInput
from interfaces.retention_runtime import start_retention
from interfaces.scheduler_runtime import scheduler_app, start_scheduler
from interfaces.settings import Settings
from interfaces.signals import stop_requested, wait_for
from interfaces.store_location import require_store


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "scheduler",
        help="turn schedules into run requests until stopped",
        description="Follow the job events and, at each fire time, record the run requests "
        "that fall due (one transaction per instant). Runs until SIGTERM or Ctrl-C. Several "
        "may run side by side against PostgreSQL; each slot still fires once.",
    )
    parser.add_argument(
        "--misfire-grace",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="a slot later than this is 'missed' and follows the job's misfire policy (default 60)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not args.misfire_grace >= 0:  # also refuses nan, which compares false with anything
        raise InvalidInput("--misfire-grace", "must be a number of seconds, not negative")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings.from_env()
    backend = backend_for(settings.store)
    require_store(settings, backend)
    # The app alone: the scheduler needs no read models and no keys (see scheduler_app).
    app = scheduler_app(settings, backend)
    try:
        with stop_requested() as stop:
            handle = start_scheduler(
                app,
                backend,
                misfire_grace=timedelta(seconds=args.misfire_grace),
                start_up_first=True,
            )
            # The retention sweep runs beside the scheduler (every scheduler on PostgreSQL:
            # two sweeps of one run conflict on its version, and one records it).
            retention = start_retention(app, backend, settings.retention)
            try:
                print(
                    f"JobLedger scheduler started on {backend.describe()} "
                    f"({len(handle.scheduler.index)} jobs)",
                    flush=True,
                )
                wait_for(stop)
            finally:
                # As long as its batch in progress takes: the process ends right after.
                if retention is not None:
                    retention.stop(timeout=None)
                handle.stop(timeout=None)
    finally:
        app.close()
    sys.stdout.flush()
    return 0
