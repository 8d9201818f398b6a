"""Parameters several routes share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Header, Query

from domain.errors import Conflict, InvalidInput

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
        max_length=1000,
        description='Optional. The version(s) the change is based on: 3, "3", or a list '
        'such as "3", "4" (RFC 9110: it applies if any equals the current version; * '
        "applies to any existing job). A stale version -> 409 and nothing changes. Without "
        "If-Match the change is unconditional.",
    ),
]


def if_match_versions(if_match: str | None) -> frozenset[int] | None:
    """The versions an If-Match header lists (3, "3" or W/"3", comma-separated); None when
    the header is absent or * (any current version will do)."""
    if if_match is None:
        return None
    versions: set[int] = set()
    for item in if_match.split(","):
        text = item.strip()
        if text == "*" and "," not in if_match:
            return None
        if text.startswith("W/"):
            text = text[2:]
        text = text.strip('"')
        if not text.isdigit() or len(text) > 18:
            raise InvalidInput(
                "If-Match", 'must be the job\'s version, such as 3, or a list such as "3", "4"'
            )
        versions.add(int(text))
    return frozenset(versions)


def expected_version(if_match: str | None, current: Callable[[], int]) -> int | None:
    """The version a command must find, from an If-Match header; None: unconditional.

    A list matches when any of its versions is the current one: that one is then expected,
    so the command still refuses if the job changes between this read and its save.
    `current` reads the job's version, and is called only for a list.
    """
    versions = if_match_versions(if_match)
    if versions is None:
        return None
    if len(versions) == 1:
        return next(iter(versions))
    actual = current()
    if actual not in versions:
        listed = ", ".join(str(v) for v in sorted(versions))
        raise Conflict(
            f"the job is at version {actual}, none of the expected {listed}; "
            "reload it and try again",
            actual=actual,
        )
    return actual


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}
