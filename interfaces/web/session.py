"""Signed-in browser sessions: a signed cookie naming the token, and its CSRF token.

The cookie holds no secret: the token id (never the token), an expiry and a random CSRF
token, signed with an HMAC key derived from the master key. Every request looks the token
up again, so revoking a token ends its sessions at once. The API's own authentication
calls `principal_from_session` and `csrf_ok`, so the pages' fetch() calls to /api/... work
with the cookie alone, and a cross-site form cannot post with it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from fastapi import Request, Response

from domain.access import Principal
from interfaces.http.deps import get_tokens

COOKIE = "jobledger_session"
# Before sign-in there is no session to carry a CSRF token, so the sign-in form gets its
# own short-lived one (double-submit): a cross-site page cannot sign a browser in.
LOGIN_COOKIE = "jobledger_login"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
LIFETIME = timedelta(hours=12)
LOGIN_LIFETIME = timedelta(minutes=30)
_PURPOSE = b"jobledger web session cookie v1"


@dataclass(frozen=True)
class Session:
    """What a valid session cookie says."""

    token_id: str
    expires: int  # Unix seconds
    csrf: str


def session_key(request: Request) -> bytes:
    """The HMAC key for session cookies, derived once per app from the master key."""
    state = request.app.state
    key: bytes | None = getattr(state, "web_session_key", None)
    if key is None:
        key = state.system.master_key.derive(_PURPOSE)
        state.web_session_key = key
    return key


def _now(request: Request) -> datetime:
    clock = getattr(request.app.state, "clock", None)
    if clock is None:
        return datetime.now(UTC)
    now: datetime = clock.now()
    return now


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(key: bytes, session: Session) -> str:
    payload = _b64(orjson.dumps({"t": session.token_id, "e": session.expires, "c": session.csrf}))
    signature = _b64(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def decode(key: bytes, value: str, now: datetime) -> Session | None:
    """The session a cookie value carries, or None if it is forged, altered or expired."""
    payload, _, signature = value.partition(".")
    expected = hmac.new(key, payload.encode("ascii", "replace"), hashlib.sha256).digest()
    try:
        given = _unb64(signature)
        data: Any = orjson.loads(_unb64(payload))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return None
    if not hmac.compare_digest(expected, given):
        return None
    if not isinstance(data, dict):
        return None
    token_id, expires, csrf = data.get("t"), data.get("e"), data.get("c")
    if not (isinstance(token_id, str) and isinstance(expires, int) and isinstance(csrf, str)):
        return None
    if expires <= int(now.timestamp()):
        return None
    return Session(token_id=token_id, expires=expires, csrf=csrf)


def current_session(request: Request) -> Session | None:
    """The request's valid session, checked once per request."""
    if hasattr(request.state, "web_session"):
        cached: Session | None = request.state.web_session
        return cached
    value = request.cookies.get(COOKIE)
    session = None if not value else decode(session_key(request), value, _now(request))
    request.state.web_session = session
    return session


def principal_from_session(request: Request) -> Principal | None:
    """Who the session cookie signs in, if it is valid and its token is not revoked."""
    if hasattr(request.state, "web_principal"):
        cached: Principal | None = request.state.web_principal
        return cached
    session = current_session(request)
    principal = None if session is None else get_tokens(request).get(session.token_id)
    request.state.web_principal = principal
    return principal


def csrf_token(request: Request) -> str:
    """The CSRF token every form and fetch() of this session must send back."""
    session = current_session(request)
    return "" if session is None else session.csrf


def csrf_ok(request: Request) -> bool:
    """Whether the request carries the session's CSRF token.

    In the X-CSRF-Token header (fetch calls), or in the `csrf_token` field of a form that
    has already been read with `read_form` (this function is synchronous, so it cannot read
    a body itself).
    """
    session = current_session(request)
    if session is None:
        return False
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = getattr(request.state, "web_form", None)
        value = None if form is None else form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), session.csrf.encode("ascii"))


async def read_form(request: Request) -> Any:
    """Read the request's form once and keep it where `csrf_ok` looks for it."""
    form = await request.form()
    request.state.web_form = form
    return form


def sign_in(request: Request, response: Response, principal: Principal) -> None:
    """Set a fresh session cookie (new CSRF token) for the principal's token."""
    expires = _now(request) + LIFETIME
    session = Session(
        token_id=principal.token_id,
        expires=int(expires.timestamp()),
        csrf=secrets.token_urlsafe(32),
    )
    response.set_cookie(
        COOKIE,
        encode(session_key(request), session),
        max_age=int(LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def sign_out(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


def new_login_nonce() -> str:
    return secrets.token_urlsafe(24)


def set_login_nonce(request: Request, response: Response, nonce: str) -> None:
    """The sign-in form's one-form CSRF token, also set as a short-lived cookie."""
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=int(LOGIN_LIFETIME.total_seconds()),
        path="/login",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def login_nonce_ok(request: Request, given: object) -> bool:
    expected = request.cookies.get(LOGIN_COOKIE)
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))
