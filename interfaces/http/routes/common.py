"""Parameters several routes share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Query

from domain.errors import InvalidInput

MAX_SEQ = 2**63 - 1

Limit = Annotated[int, Query(ge=1, le=1000, description="page size (at most 1000)")]
Cursor = Annotated[
    str | None,
    Query(max_length=1000, pattern=r"^[A-Za-z0-9_-]*$", description="from the previous page"),
]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=100,
        description='the version the change is based on, e.g. 3 or "3"; stale -> 409',
    ),
]


def expected_version(if_match: str | None) -> int | None:
    """The version in an If-Match header: 3, "3" or W/"3"; None when absent or *."""
    if if_match is None:
        return None
    text = if_match.strip()
    if text == "*":
        return None
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit() or len(text) > 18:
        raise InvalidInput("If-Match", "must be the job's version, a whole number such as 3")
    return int(text)


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}
