"""The FastAPI application: the HTTP API, its problem details and its OpenAPI document.

`create_app(system, tokens)` is all an entry point needs: `jobledger serve` and
`jobledger api` pass a built System and a TokenStore, tests pass their own (and a clock).
The web pages (interfaces/web) mount themselves on the same app when they are installed.
"""

from __future__ import annotations

import importlib
import importlib.util
from copy import deepcopy
from typing import Any

from fastapi import FastAPI

from adapters.clock import SystemClock
from application.ports import Clock, TokenStore
from domain.schedule import CronSchedule
from interfaces.bootstrap import System
from interfaces.health import HealthCheck
from interfaces.http import problems
from interfaces.http.auth import SECURITY_SCHEME
from interfaces.http.hook_limit import CallLimiter
from interfaces.http.rate_limit import FailureLimiter
from interfaces.http.responses import OrjsonResponse
from interfaces.http.routes import (
    audit,
    docs,
    health,
    hooks,
    job_types,
    jobs,
    logs,
    runs,
    schedules,
    triggers,
)
from interfaces.http.routes.bulk import router as bulk_router
from interfaces.http.routes.log_archive import router as log_archive_router
from interfaces.http.routes.notification_channels import router as notification_router
from interfaces.http.schemas import Problem

TITLE = "JobLedger"
VERSION = "0.1.0"
DESCRIPTION = (
    "Schedule, run and record batch jobs. Commands change jobs and runs (each change an "
    "immutable event); queries read the projections. Authenticate with "
    "`Authorization: Bearer <token>` (`jobledger tokens create`). Errors are RFC 9457 "
    "problem details (application/problem+json) whose `field` names the input at fault."
)
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
ERROR_DESCRIPTIONS = {
    "400": "malformed request body (not JSON)",
    "401": "no token, or an unknown or revoked one",
    "403": "the token's role does not allow this",
    "404": "no such job, run or secret",
    "409": "a stale If-Match version, or a change that conflicts with the current state",
    "413": "the request body is too large",
    "422": "invalid input; `field` names it",
    "429": "too many failed sign-ins from this address; see Retry-After",
}


def create_app(
    system: System,
    tokens: TokenStore,
    *,
    clock: Clock | None = None,
    view_wait_seconds: float = 5.0,
    auth_failures: FailureLimiter | None = None,
    hook_calls: CallLimiter | None = None,
) -> FastAPI:
    """The API over `system`, authenticating with `tokens`; routes get them through the
    dependencies of interfaces.http.deps. After each command a response waits up to
    `view_wait_seconds` for the views to show the change (read-your-writes). Failed
    sign-ins are counted per client address by `auth_failures` (a default one if None), and
    calls per webhook trigger by `hook_calls` (likewise)."""
    app = FastAPI(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        default_response_class=OrjsonResponse,
        openapi_url=None,  # served by routes.docs, behind a token
        docs_url=None,
        redoc_url=None,
    )
    app.state.system = system
    app.state.tokens = tokens
    app.state.clock = clock or SystemClock()
    app.state.view_wait_seconds = view_wait_seconds
    app.state.health = HealthCheck(system)
    app.state.auth_failures = auth_failures or FailureLimiter()
    app.state.hook_calls = hook_calls or CallLimiter()
    # The first schedule parsed reads the zone list from disk: do it now, not in the first
    # requests (which would all read it at once).
    CronSchedule.parse("0 0 * * *", "UTC")
    problems.install(app)
    for module in (jobs, triggers, hooks, runs, logs, audit, job_types, schedules, health, docs):
        app.include_router(module.router)
    app.include_router(bulk_router)
    app.include_router(notification_router)
    app.include_router(log_archive_router)
    _install_openapi(app)
    _mount_web_pages(app)
    return app


def _mount_web_pages(app: FastAPI) -> None:
    """Let the web pages (interfaces.web, when installed) add their routes to this app."""
    if importlib.util.find_spec("interfaces.web") is None:
        return
    web = importlib.import_module("interfaces.web")
    mount = getattr(web, "mount", None)
    if mount is not None:
        mount(app)


def _install_openapi(app: FastAPI) -> None:
    """Generate the document once, then state the error responses as problem details."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """Every error response of every operation, as application/problem+json Problem."""
    spec = deepcopy(spec)
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in problem_schema.pop("$defs", {}).items():
        components[name] = definition
    components["Problem"] = problem_schema
    _secured(spec)
    for path, operations in spec.get("paths", {}).items():
        for method, op in operations.items():
            codes = _error_codes(path, method, op)
            responses = op.setdefault("responses", {})
            for code in [c for c in responses if c.startswith(("4", "5")) and c != "503"]:
                del responses[code]
            for code in codes:
                responses[code] = {
                    "description": ERROR_DESCRIPTIONS[code],
                    "content": {"application/problem+json": {"schema": PROBLEM_REF}},
                }
    return spec


def _secured(spec: dict[str, Any]) -> None:
    """State the bearer scheme, and that every operation but /healthz needs it."""
    spec["components"].setdefault("securitySchemes", {}).update(SECURITY_SCHEME)
    for path, operations in spec.get("paths", {}).items():
        for op in operations.values():
            if path != "/healthz":
                op["security"] = [{"bearer": []}]


def _error_codes(path: str, method: str, op: dict[str, Any]) -> list[str]:
    if path == "/healthz":
        return []
    codes = {"401", "403", "429"}
    if "requestBody" in op:
        codes |= {"400", "413", "422"}
    if op.get("parameters"):
        codes.add("422")
    if "{" in path:
        codes.add("404")
    if method in ("post", "put", "patch", "delete") and not path.startswith("/api/schedules"):
        codes.add("409")
    if method in ("post", "put", "patch", "delete"):
        codes |= {"400", "413"}  # any body sent is checked, even where none is expected
    return sorted(codes)
