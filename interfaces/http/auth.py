"""Who is calling: a bearer token, or the web pages' session cookie; and what they may do.

Roles (domain.access.ROLES): viewer reads, operator also runs and cancels, admin
does everything. A Bearer header wins over a cookie. A cookie-authenticated request that
changes something (POST, PUT, PATCH, DELETE) must also carry the page's CSRF token, or a
page on another site could make the browser act for the user. Failed tokens are counted
per client address (interfaces.http.rate_limit): past the limit they are answered 429.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from domain.access import Principal
from interfaces.http.deps import get_tokens
from interfaces.http.problems import Forbidden, Unauthorized
from interfaces.http.rate_limit import FailureLimiter

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# The scheme as the OpenAPI document states it (interfaces.http.app adds it to every
# operation that requires() a role). The header is read here directly rather than through
# fastapi.security.HTTPBearer: one dependency less on every request.
SECURITY_SCHEME = {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "jl_..."}}


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def _session(request: Request) -> tuple[Principal | None, Callable[[Request], bool] | None]:
    """The web pages' session principal and CSRF check, if the pages are installed."""
    try:
        from interfaces.web.session import csrf_ok, principal_from_session
    except ImportError:
        return None, None
    return principal_from_session(request), csrf_ok


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def count_failure(request: Request) -> None:
    """Count a failed sign-in from the caller's address; TooManyFailures past the limit."""
    limiter: FailureLimiter | None = getattr(request.app.state, "auth_failures", None)
    if limiter is not None:
        limiter.failed(client_address(request))


async def authenticate(request: Request) -> Principal:
    """The caller's principal, or Unauthorized / Forbidden (CSRF) / TooManyFailures.

    Async, so that a token checked recently (cached in memory) costs no thread hop; a check
    that reads the token table runs in the thread pool."""
    plain = bearer_token(request)
    if plain is not None:
        tokens = get_tokens(request)
        principal = tokens.verify_cached(plain)
        if principal is None:
            principal = await run_in_threadpool(tokens.verify, plain)
        if principal is None:
            count_failure(request)
            raise Unauthorized("the token is unknown or revoked", invalid_token=True)
        return principal
    if "authorization" in request.headers:
        raise Unauthorized('use "Authorization: Bearer <token>"', invalid_token=True)
    principal, csrf_ok = await run_in_threadpool(_session, request)
    if principal is None:
        raise Unauthorized("a token is needed: send Authorization: Bearer <token>")
    if request.method in UNSAFE_METHODS and csrf_ok is not None and not csrf_ok(request):
        raise Forbidden("the CSRF token is missing or wrong; reload the page and try again")
    return principal


def require(role: str) -> Any:
    """A dependency that authenticates and checks that the principal has at least `role`."""

    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        if not principal.may(role):
            raise Forbidden(
                f"this needs the {role} role; token {principal.name!r} has the "
                f"{principal.role} role"
            )
        request.state.principal = principal
        return principal

    return Depends(dependency)


Viewer = Annotated[Principal, require("viewer")]
Operator = Annotated[Principal, require("operator")]
Admin = Annotated[Principal, require("admin")]
