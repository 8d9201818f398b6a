"""Errors as RFC 9457 problem details (application/problem+json), each naming its cause.

Bad input of any kind gets a 4xx naming the field at fault, never a 500, and is refused
before any command runs, so nothing is written. Messages never echo an input value: a
refused secret must not come back in an error.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import psycopg
from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.store_errors import StoreTrouble, classify
from domain.errors import (
    Conflict,
    InvalidInput,
    JobLedgerError,
    NotFound,
    NotPermitted,
    SecretUnavailable,
)
from interfaces.http.rate_limit import TooManyFailures
from interfaces.http.responses import ProblemResponse, dumps

log = logging.getLogger("jobledger.http")

PROBLEM_TYPE = "urn:jobledger:problem:"
MAX_BODY_BYTES = 1024 * 1024  # far above any valid request (parameters are capped at 64 KiB)
LOCATIONS = ("body", "query", "path", "header", "cookie")
# How long a client should wait before trying again while the store is away or full.
RETRY_AFTER_UNAVAILABLE = 5
RETRY_AFTER_DISK_FULL = 30


class Unauthorized(Exception):
    """No token, or one that is unknown or revoked: 401 with WWW-Authenticate."""

    def __init__(self, detail: str, *, invalid_token: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.invalid_token = invalid_token


class Forbidden(Exception):
    """A known principal whose role does not allow this, or a cookie request without CSRF."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def problem(
    status: int,
    kind: str,
    detail: str,
    *,
    request: Request | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + kind,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    body.update(extra)
    return ProblemResponse(body, status_code=status, headers=headers)


def field_of(loc: Sequence[Any]) -> str:
    """('body', 'schedule', 'cron') -> 'schedule.cron'; ('header', 'if-match') -> 'If-Match'."""
    parts = list(loc)
    where = parts.pop(0) if parts and parts[0] in LOCATIONS else None
    if not parts:
        return "body" if where == "body" else str(where or "request")
    if where == "header":
        return "-".join(word.capitalize() for word in str(parts[0]).split("-"))
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def field_problems(error: InvalidInput) -> list[dict[str, str]]:
    """One item per field at fault: `detail` says what is wrong (RFC 9457 style), and
    `message`, the same text, is kept for clients written before `detail`."""
    return [{"field": e.field, "detail": e.message, "message": e.message} for e in error.errors]


def _summary(errors: Sequence[Mapping[str, str]]) -> str:
    """The problem's `detail`: the one field's message, or which fields `errors` lists."""
    if len(errors) == 1:
        return f"{errors[0]['field']}: {errors[0]['detail']}"
    fields = ", ".join(e["field"] for e in errors)
    return f"{len(errors)} fields are invalid ({fields}); `errors` says what is wrong with each"


async def _invalid_input(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, InvalidInput)
    errors = field_problems(error)
    return problem(
        422, "invalid-input", _summary(errors), request=request, field=error.field, errors=errors
    )


async def _not_permitted(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, NotPermitted)
    errors = field_problems(error)
    return problem(
        403, "not-permitted", _summary(errors), request=request, field=error.field, errors=errors
    )


async def _not_found(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, NotFound)
    return problem(404, "not-found", str(error), request=request)


async def _conflict(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, Conflict)
    extra: dict[str, Any] = {}
    if error.actual is not None:
        extra["current_version"] = error.actual
    # A conflict over a value (a job name already taken) names its field, as 422s do.
    field = getattr(error, "field", None)
    if field is not None:
        extra["field"] = field
        message = str(error).removeprefix(f"{field}: ")
        extra["errors"] = [{"field": field, "detail": message, "message": message}]
    return problem(409, "conflict", str(error), request=request, **extra)


async def _secret_unavailable(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, SecretUnavailable)
    return problem(409, "secret-unavailable", str(error), request=request)


async def _other_ledger_error(request: Request, error: Exception) -> ProblemResponse:
    return problem(409, "refused", str(error), request=request)


async def _validation(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, RequestValidationError)
    raw = list(error.errors())
    if any(e.get("type") == "json_invalid" for e in raw):
        return problem(
            400,
            "malformed-body",
            "body: is not valid JSON",
            request=request,
            field="body",
            errors=[
                {"field": "body", "detail": "is not valid JSON", "message": "is not valid JSON"}
            ],
        )
    # The message only: pydantic's "input" would echo the value (perhaps a secret).
    errors = [
        {"field": field_of(e.get("loc", ())), "detail": msg, "message": msg}
        for e in raw
        for msg in [str(e.get("msg", ""))]
    ]
    if not errors:
        errors = [{"field": "body", "detail": "is invalid", "message": "is invalid"}]
    return problem(
        422,
        "invalid-input",
        _summary(errors),
        request=request,
        field=errors[0]["field"],
        errors=errors,
    )


async def _http(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, StarletteHTTPException)
    status = error.status_code
    kind = {
        400: "malformed-body",
        404: "not-found",
        405: "method-not-allowed",
        413: "too-large",
    }.get(status, "http-error")
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(status).phrase
    extra = {"field": "body"} if status in (400, 413) else {}
    return problem(status, kind, detail, request=request, headers=error.headers, **extra)


async def _unauthorized(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, Unauthorized)
    challenge = 'Bearer realm="jobledger"'
    if error.invalid_token:
        challenge += ', error="invalid_token"'
    return problem(
        401,
        "unauthorized",
        error.detail,
        request=request,
        headers={"WWW-Authenticate": challenge},
    )


async def _forbidden(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, Forbidden)
    return problem(403, "forbidden", error.detail, request=request)


async def _store_error(request: Request, error: Exception) -> ProblemResponse:
    """The store could not be reached, or its disk is full: 503 or 507 with Retry-After.
    Commands save their events in one transaction, so a refused write stored nothing."""
    trouble = classify(error)
    if trouble is None:
        return await _unexpected(request, error)
    # One line, not a traceback: during an outage every request would log one.
    log.warning("%s %s: store %s: %s", request.method, request.url.path, trouble, error)
    if trouble is StoreTrouble.DISK_FULL:
        return problem(
            507,
            "disk-full",
            "the store's disk is full: nothing was written; free space and try again",
            request=request,
            headers={"Retry-After": str(RETRY_AFTER_DISK_FULL)},
        )
    return problem(
        503,
        "store-unavailable",
        "the store cannot be reached: nothing was written; try again shortly",
        request=request,
        headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE)},
    )


async def _too_many_failures(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, TooManyFailures)
    return problem(
        429,
        "too-many-failures",
        str(error),
        request=request,
        headers={"Retry-After": str(error.retry_after)},
    )


async def _unexpected(request: Request, error: Exception) -> ProblemResponse:
    # Logged with its traceback for the operator; the caller learns nothing internal.
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(500, "internal", "an unexpected error occurred; it has been logged")


def install(app: FastAPI) -> None:
    """Register the problem handlers and the request-size limit on `app`."""
    app.add_exception_handler(InvalidInput, _invalid_input)
    app.add_exception_handler(NotPermitted, _not_permitted)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(Conflict, _conflict)
    app.add_exception_handler(SecretUnavailable, _secret_unavailable)
    app.add_exception_handler(JobLedgerError, _other_ledger_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Unauthorized, _unauthorized)
    app.add_exception_handler(Forbidden, _forbidden)
    # Store failures by their own classes: handled here, they are not re-raised into the
    # server's log as a traceback per request, as the catch-all's are.
    for store_error in (PersistenceError, psycopg.Error, sqlite3.Error, OSError):
        app.add_exception_handler(store_error, _store_error)
    app.add_exception_handler(TooManyFailures, _too_many_failures)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413, by Content-Length or as they
    stream in, before a route reads them. Bodies are read here (at most `limit` bytes) and
    handed on whole, so the refusal never races a route that has begun to answer."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await self._refuse(scope, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        detail = f"body: is larger than the limit of {self.limit} bytes"
        body = dumps(
            {
                "type": PROBLEM_TYPE + "too-large",
                "title": HTTPStatus(413).phrase,
                "status": 413,
                "detail": detail,
                "instance": scope.get("path", ""),
                "field": "body",
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
