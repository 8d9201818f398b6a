"""`jobledger serve`: the embedded all-in-one process, and `jobledger projections run`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from interfaces.bootstrap import build
from interfaces.settings import Settings


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "serve",
        help="run JobLedger in one process (keeps the read models up to date)",
        description="Run JobLedger in one process on the configured store. In this version it "
        "keeps the projections (jobs, runs, logs, audit views) up to date; stop with Ctrl-C.",
    )
    parser.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    system = build(settings)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()
        system.follower.wakeup.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"JobLedger serving on {settings.store.describe()} (data in {settings.data_dir})")
    sys.stdout.flush()
    try:
        system.follower.run(stop)
    finally:
        system.close()
    return 0
