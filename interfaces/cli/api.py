"""`jobledger api`: the HTTP API (and the web pages) as a process of its own.

For the split-process mode on PostgreSQL: any number of `api` processes beside
`jobledger projections run` (which keeps the views they read up to date), schedulers and
workers. The embedded all-in-one `jobledger serve` runs the same app in its process.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from domain.errors import InvalidInput
from interfaces.cli.context import opened, reserve_legacy_names

# The HTTP stack (FastAPI, uvicorn) is imported by the command that serves, not by every
# command line start.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def add_address_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "api",
        help="serve the HTTP API and web pages (views kept by `projections run`)",
        description="Serve the HTTP API, its OpenAPI document (/openapi.json, /docs) and the "
        "web pages on the configured store. The read models it answers from are kept up to "
        "date by `jobledger projections run`, started separately. Stop with Ctrl-C.",
    )
    add_address_flags(parser)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (default 1). One Python process serves about 1,000 requests/s "
        "on one core; use one per core. Each opens its own PostgreSQL connections.",
    )
    parser.set_defaults(handler=api)


def announce(message: str) -> None:
    print(message, flush=True)


def api(args: argparse.Namespace) -> int:
    from interfaces.http.app import create_app
    from interfaces.http.first_admin import ensure_first_admin
    from interfaces.http.server import serve_forever, serve_processes

    if args.workers < 1:
        raise InvalidInput("workers", "must be at least 1")
    if args.workers > 1:
        with opened() as system:
            tokens = system.backend.token_store()
            try:
                ensure_first_admin(tokens, announce, system.app)
                reserve_legacy_names(system, announce)
            finally:
                tokens.close()
            where = system.backend.describe()
        print(
            f"JobLedger API on http://{args.host}:{args.port} ({where}, {args.workers} processes)",
            flush=True,
        )
        serve_processes("interfaces.http.asgi:app_from_env", args.host, args.port, args.workers)
        return 0

    with opened() as system:
        tokens = system.backend.token_store()
        try:
            ensure_first_admin(tokens, announce, system.app)
            reserve_legacy_names(system, announce)
            app = create_app(system, tokens)
            print(
                f"JobLedger API on http://{args.host}:{args.port} ({system.backend.describe()})",
                flush=True,
            )
            sys.stdout.flush()
            serve_forever(app, args.host, args.port)
        finally:
            tokens.close()
    return 0
