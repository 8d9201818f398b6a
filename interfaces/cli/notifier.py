"""`jobledger notifier`: the notifier as a process of its own, against the configured store.

Several may run side by side on PostgreSQL: each run outcome is decided once and each
delivery attempt is claimed by one of them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from adapters.clock import SystemClock
from interfaces.cli.context import opened
from interfaces.http.ops_endpoint import DEFAULT_METRICS_HOST, start_ops_endpoint
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
    parser.add_argument(
        "--metrics-port",
        type=_port,
        default=None,
        metavar="PORT",
        help="serve /healthz (no token) and /metrics (a viewer's token) on this port: the "
        "notifier's delivery counters, its loop's health and the store's figures "
        "(default: not served; 0: any free port, printed at start)",
    )
    parser.add_argument(
        "--metrics-host",
        default=DEFAULT_METRICS_HOST,
        metavar="HOST",
        help=f"the address --metrics-port listens on (default {DEFAULT_METRICS_HOST})",
    )
    parser.set_defaults(handler=run)


def _port(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError("must be a port number, 0 to 65535")
    return port


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = notify_settings()  # bad settings: an error now, not at the first failure
    with opened() as system, stop_requested() as stop:
        handle = start_notifier(system.app, system.backend, settings, views=system)
        system.report_loop(lambda: [handle.notifier.outage.state()])  # on /healthz
        endpoint = None
        tokens = None
        print(f"JobLedger notifier started on {system.backend.describe()}", flush=True)
        try:
            if args.metrics_port is not None:
                tokens = system.backend.token_store()
                endpoint = start_ops_endpoint(
                    system, tokens, SystemClock(), args.metrics_host, args.metrics_port
                )
                print(f"Metrics on {endpoint.url}/metrics", flush=True)
            wait_for(stop)
        finally:
            if endpoint is not None:
                endpoint.stop()
            if tokens is not None:
                tokens.close()
            handle.stop(timeout=None)
    sys.stdout.flush()
    return 0
