"""`jobledger projections [run|rebuild]`: keep the read models up to date, or replay history."""

from __future__ import annotations

import argparse
import time
from typing import Any

from interfaces.cli.context import opened
from interfaces.signals import stop_requested


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "projections",
        help="run (the default) or rebuild the read models",
        description="Keep the jobs, runs, logs, audit and notifications views up to date until "
        "stopped (the projection process of a multi-process deployment), or rebuild them from "
        "history.",
    )
    # `jobledger projections` alone runs them: the process a deployment starts.
    parser.set_defaults(handler=run_views)
    sub = parser.add_subparsers(dest="action", required=False, metavar="ACTION")
    rebuild = sub.add_parser(
        "rebuild",
        help="drop every view and replay the whole history into it",
        description="Drop the jobs, runs, logs, audit and notifications views and rebuild them "
        "from the event history. Stop other projection processes first.",
    )
    rebuild.set_defaults(handler=rebuild_views)
    run = sub.add_parser(
        "run", help="keep the views up to date until stopped (for multi-process deployments)"
    )
    run.set_defaults(handler=run_views)


def rebuild_views(args: argparse.Namespace) -> int:
    with opened() as system:
        started = time.perf_counter()
        count = system.rebuild_projections()
        elapsed = time.perf_counter() - started
        print(f"Rebuilt {len(system.projections)} views from {count} events in {elapsed:.2f} s")
    return 0


def run_views(args: argparse.Namespace) -> int:
    """Keep the views up to date in this thread until SIGTERM or SIGINT (Ctrl-C)."""
    with opened() as system, stop_requested(also=system.follower.wakeup.set) as stop:
        system.follow(stop)
    return 0
