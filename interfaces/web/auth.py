"""Who may see and do what on the pages: sign-in, sign-out, and the checks every route uses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from domain.access import Principal
from interfaces.http.auth import client_address, count_failure
from interfaces.http.deps import get_system, get_tokens
from interfaces.http.rate_limit import TooManyFailures
from interfaces.web.render import render
from interfaces.web.session import (
    LOGIN_COOKIE,
    csrf_ok,
    login_nonce_ok,
    new_login_nonce,
    principal_from_session,
    read_form,
    set_login_nonce,
    sign_in,
    sign_out,
)

router = APIRouter(include_in_schema=False)

ROLE_NAMES = {
    "viewer": "a viewer (read only)",
    "operator": "an operator (view, run now, cancel)",
    "admin": "an administrator",
}


class LoginRequired(Exception):
    """No valid session: the browser is sent to the sign-in page."""


class PageError(Exception):
    """A refusal or a missing thing, shown as a page with its status code."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


def page_principal(request: Request) -> Principal:
    principal = principal_from_session(request)
    if principal is None:
        raise LoginRequired
    return principal


def require(role: str) -> Callable[[Request], Principal]:
    """A dependency: the signed-in principal, who must hold at least `role`."""

    def check(request: Request) -> Principal:
        principal = page_principal(request)
        if not principal.may(role):
            raise PageError(
                403,
                "Not allowed",
                f"This needs {ROLE_NAMES[role]}; you are signed in as "
                f"{ROLE_NAMES.get(principal.role, principal.role)}.",
            )
        return principal

    return check


def form_with_csrf(role: str) -> Callable[[Request], Awaitable[tuple[Principal, Any]]]:
    """A dependency for state-changing routes: role, then the form and its CSRF token."""
    check_role = require(role)

    async def check(request: Request) -> tuple[Principal, Any]:
        principal = await run_in_threadpool(check_role, request)
        form = await read_form(request)
        if not csrf_ok(request):
            raise PageError(
                403,
                "Form expired",
                "The form did not carry this session's security token (CSRF). "
                "Go back, reload the page and try again.",
            )
        return principal, form

    return check


def safe_next(target: object) -> str:
    """Only a path on this site: never another origin (an open redirect)."""
    if (
        isinstance(target, str)
        and target.startswith("/")
        and not target.startswith(("//", "/\\"))
        and not target.startswith("/login")
    ):
        return target
    return "/"


def _login_page(request: Request, *, error: str = "", status: int = 200) -> Response:
    nonce = new_login_nonce()
    response = render(
        request,
        "login.html",
        {"nonce": nonce, "next": safe_next(request.query_params.get("next")), "error": error},
        status,
    )
    set_login_nonce(request, response, nonce)
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    if not login_nonce_ok(request, form.get("csrf_token")):
        return _login_page(request, error="The sign-in form expired. Please try again.", status=403)
    token = form.get("token")
    token = token.strip() if isinstance(token, str) else ""
    tokens = get_tokens(request)
    principal = await run_in_threadpool(tokens.verify, token) if token else None
    # Each sign-in through this form is on the audit trail (API requests with a bearer
    # token are not sign-ins: recording each would write an event per request). Failures
    # past the rate limit are refused unrecorded, so a flood cannot flood the store.
    app, client = get_system(request).app, client_address(request)
    if principal is None:
        try:
            count_failure(request)
        except TooManyFailures as refused:
            wait = f"Too many failed sign-ins. Try again in {refused.retry_after} seconds."
            response = _login_page(request, error=wait, status=429)
            response.headers["Retry-After"] = str(refused.retry_after)
            return response
        revoked = await run_in_threadpool(tokens.identify, token) if token else None
        await run_in_threadpool(app.record_failed_sign_in, client=client, revoked=revoked)
        return _login_page(request, error="That token is not valid, or it was revoked.", status=401)
    await run_in_threadpool(app.record_sign_in, principal, client=client)
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    sign_in(request, response, principal)
    response.delete_cookie(LOGIN_COOKIE, path="/login", httponly=True, samesite="strict")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await read_form(request)
    # Signing out needs the CSRF token too: a cross-site page must not end a session.
    if principal_from_session(request) is not None and not csrf_ok(request):
        raise PageError(403, "Form expired", "Reload the page and sign out again.")
    response = RedirectResponse("/login?notice=signed-out", status_code=303)
    sign_out(response)
    return response


def install_error_pages(app: FastAPI) -> None:
    async def to_login(request: Request, _exc: Exception) -> Response:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        # After a POST the form is gone; come back to the page it was posted from.
        if request.method != "GET":
            target = request.headers.get("referer", "/")
            target = "/" + target.split("/", 3)[3] if target.count("/") >= 3 else "/"
        return RedirectResponse(f"/login?next={quote(safe_next(target))}", status_code=303)

    async def error_page(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageError)
        return render(
            request, "error.html", {"title": exc.title, "message": exc.message}, exc.status
        )

    app.add_exception_handler(LoginRequired, to_login)
    app.add_exception_handler(PageError, error_page)


Admin = Depends(require("admin"))
Operator = Depends(require("operator"))
Viewer = Depends(require("viewer"))
