"""JSON responses written by orjson: UUIDs and aware datetimes (RFC 3339) natively, in C."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, option=_OPTIONS)


class OrjsonResponse(JSONResponse):
    """application/json via orjson. Routes return it directly, so FastAPI neither converts
    nor re-validates the body: the route's `response_model` documents the shape, and the
    Schemathesis test checks that every response keeps to it. (A JSONResponse subclass, so
    that FastAPI puts the response model in the OpenAPI document.)"""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


class ProblemResponse(OrjsonResponse):
    """An RFC 9457 problem details document."""

    media_type = "application/problem+json"
