"""`jobledger serve`: the embedded all-in-one process.

One process runs everything a small installation needs: the projections, the scheduler,
the workers, and the HTTP API with its web pages. The same parts run as separate processes
(`jobledger api|scheduler|worker|projections`) when several machines share PostgreSQL.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from interfaces.cli.context import opened, reserve_legacy_names
from interfaces.signals import stop_requested, wait_for

# Not imported from the HTTP modules: FastAPI takes most of a second to import, and every
# other `jobledger` command would pay for it.
DEFAULT_HOST, DEFAULT_PORT, DEFAULT_CONCURRENCY = "127.0.0.1", 8080, 4


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "serve",
        help="run everything in one process: web pages, API, scheduler, workers, projections",
        description="Run JobLedger in one process on the configured store (by default a SQLite "
        "file in JOBLEDGER_DATA_DIR): the web pages and HTTP API, the scheduler, the workers "
        "and the projections. It creates the store and its master key if they do not exist "
        "yet (as `jobledger init` does), and on a fresh store prints a first administrator "
        "token once. "
        "Stop with Ctrl-C or SIGTERM.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"runs executed at once (default {DEFAULT_CONCURRENCY})",
    )
    parser.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    from interfaces.http.app import create_app
    from interfaces.http.first_admin import ensure_first_admin
    from interfaces.http.server import BackgroundServer
    from interfaces.notifier_runtime import start_notifier
    from interfaces.notify_settings import notify_settings
    from interfaces.retention_runtime import start_retention
    from interfaces.scheduler_runtime import start_scheduler
    from interfaces.worker_runtime import start_worker

    def say(line: str) -> None:
        print(line, flush=True)

    notify = notify_settings()  # bad settings: an error now, not at the first failure
    with stop_requested() as stop, opened(create=True) as system:
        tokens = system.backend.token_store()
        stack: list[Any] = []
        try:
            ensure_first_admin(tokens, say, system.app)
            reserve_legacy_names(system, say)
            system.start_projections()
            scheduler = start_scheduler(system.app, system.backend)
            stack.append(scheduler)
            system.report_loop(lambda: [scheduler.scheduler.outage.state()])
            retention = start_retention(system.app, system.backend, system.settings.retention)
            if retention is not None:
                stack.append(retention)
                system.report_loop(lambda: [retention.state()])
            worker = start_worker(
                system.app,
                system.backend,
                runs_view=system.runs,
                concurrency=args.concurrency,
                log_batch={"max_log_chars": system.settings.run_log_limit_chars},
                unrunnable_wait_seconds=system.settings.unrunnable_wait_seconds,
            )
            stack.append(worker)
            system.report_loop(worker.worker.health)
            notifier = start_notifier(system.app, system.backend, notify, views=system)
            stack.append(notifier)
            system.report_loop(lambda: [notifier.notifier.outage.state()])
            server = BackgroundServer(create_app(system, tokens), args.host, args.port)
            server.start()
            stack.append(server)
            say(
                f"JobLedger listening on {server.url} "
                f"(store: {system.backend.describe()}, data in {system.settings.data_dir})"
            )
            wait_for(stop)
            say("JobLedger stopping")
        finally:
            # Last started, first stopped: no new requests, then no new runs, then the rest.
            for part in reversed(stack):
                part.stop()
            tokens.close()
    sys.stdout.flush()
    return 0
