"""/healthz and /metrics for a process that serves no API (`jobledger notifier
--metrics-port`): the API's own two routes, on an app that holds nothing else.

The same rules as the API's: /healthz needs no token; /metrics needs a viewer's token
(`jobledger tokens create`), so a scraper authenticates as it does against `jobledger api`.
It reports the loops and the notifier figures of this process, and the store's figures.
"""

from __future__ import annotations

from fastapi import FastAPI

from application.ports import Clock, TokenStore
from interfaces.bootstrap import System
from interfaces.health import HealthCheck
from interfaces.http import problems
from interfaces.http.rate_limit import FailureLimiter
from interfaces.http.routes import health
from interfaces.http.server import BackgroundServer

DEFAULT_METRICS_HOST = "127.0.0.1"


def ops_app(system: System, tokens: TokenStore, clock: Clock) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.system = system
    app.state.tokens = tokens
    app.state.clock = clock
    app.state.view_wait_seconds = 0.0  # it changes nothing, so never waits for the views
    app.state.health = HealthCheck(system)
    app.state.auth_failures = FailureLimiter()
    problems.install(app)
    app.include_router(health.router)
    return app


def start_ops_endpoint(
    system: System, tokens: TokenStore, clock: Clock, host: str, port: int
) -> BackgroundServer:
    """Serve /healthz and /metrics on host:port in a background thread (port 0: any free
    one, `server.port` says which); `stop()` ends it."""
    return BackgroundServer(ops_app(system, tokens, clock), host, port).start()
