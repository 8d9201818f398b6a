"""A route for the job bodies (register, change) whose 422 names every field at fault.

The request schema refuses some fields before the route runs (a `parameters` that is not an
object); the application refuses others (a bad CRON expression, a program its job type's
schema refuses). Without this, a body with both kinds of fault would hear of the first kind,
then of the second on resubmitting. Here, when the schema refuses a body, the fields it did
accept are checked by the application too (nothing is saved), and one 422 lists them all.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any
from uuid import UUID

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from domain.errors import FieldError, InvalidInput, NotFound
from interfaces.http.deps import get_system

# Secrets are left to the route, which names their fields as this API does.
NOT_CHECKED_HERE = frozenset({"secrets"})
# The endpoints whose bodies are a job's fields: register and change.
JOB_BODY_ENDPOINTS = frozenset({"create_job", "update_job"})


class JobFieldsRoute(APIRoute):
    """An APIRoute that adds the application's field errors to the schema's for the bodies
    that are a job's fields (JOB_BODY_ENDPOINTS); other routes are left as they are."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.name not in JOB_BODY_ENDPOINTS:
            return handler

        async def checked(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                more = await run_in_threadpool(_application_errors, request, error)
                if not more:
                    raise
                raise RequestValidationError([*error.errors(), *more], body=error.body) from None

        return checked


def _application_errors(request: Request, error: RequestValidationError) -> list[dict[str, Any]]:
    body = error.body
    if not isinstance(body, dict):
        return []
    refused = _refused_fields(error.errors())
    if refused is None:
        return []
    fields = {
        key: value
        for key, value in body.items()
        if key not in refused and key not in NOT_CHECKED_HERE and key != "job_type"
    }
    app = get_system(request).app
    change = request.method == "PATCH"
    try:
        if change:
            job_type: object = app.get_job(UUID(str(request.path_params["job_id"]))).job_type
        else:
            job_type = body.get("job_type") if "job_type" not in refused else None
        app.check_job_fields(job_type, fields, change=change)
    except (NotFound, ValueError, KeyError):
        return []  # no such job (or no id): the schema's errors are the answer
    except InvalidInput as invalid:
        return [_as_pydantic(e) for e in invalid.errors if _head(e.field) not in refused]
    return []


def _refused_fields(errors: Sequence[Any]) -> set[str] | None:
    """The body's top-level fields the schema refused; None if it refused the body itself."""
    refused: set[str] = set()
    for item in errors:
        loc = tuple(item.get("loc", ()))
        if not loc or loc[0] != "body":
            continue
        if len(loc) < 2:
            return None
        refused.add(str(loc[1]))
    return refused


def _head(field: str) -> str:
    return field.split(".", 1)[0]


def _as_pydantic(error: FieldError) -> dict[str, Any]:
    """In the shape the problem handler reads from pydantic: `loc` and `msg`."""
    return {"loc": ("body", *error.field.split(".")), "msg": error.message, "type": "value_error"}
