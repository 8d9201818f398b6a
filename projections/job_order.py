"""How a page of the jobs view is ordered and filtered by folder: the sorts, and the
cursors that carry each sort's key so every sort pages by keyset, on either store."""

from __future__ import annotations

from datetime import UTC
from typing import Any
from uuid import UUID

from domain.errors import InvalidInput
from projections.base import decode_cursor, encode_cursor
from projections.jobs import jobs_cursor, parse_jobs_cursor, prefix_upper_bound

# How a page of jobs may be ordered: by name; by last run, newest first; by last run
# status, then name. "next_run" is computed on read from the schedule (no stored column),
# so the view orders it by name and the caller orders each page by next run.
SORTS = ("name", "last_run", "last_status", "next_run")


def check_sort(sort: str) -> str:
    if sort not in SORTS:
        raise InvalidInput("sort", f"{sort!r} is not one of {', '.join(SORTS)}")
    return sort


def sort_cursor(job: dict[str, Any], sort: str) -> str:
    """The cursor after `job` in a page ordered by `sort`: its sort key, then its id."""
    if sort == "last_run":
        at = job["last_run_at"]
        key = None if at is None else at.astimezone(UTC).isoformat(timespec="microseconds")
        return encode_cursor("last_run", key, str(job["id"]))
    if sort == "last_status":
        return encode_cursor(
            "last_status", job["last_run_status"] or "", job["name"], str(job["id"])
        )
    return jobs_cursor(job)


def parse_sort_cursor(cursor: str, sort: str) -> list[Any]:
    """The sort key in a cursor `sort_cursor` issued for `sort`, its id as a UUID."""
    if sort in ("last_run", "last_status"):
        size = 3 if sort == "last_run" else 4
        key = decode_cursor(cursor, size)
        texts = key[1:-1]
        if key[0] != sort or not all(t is None or isinstance(t, str) for t in texts):
            raise InvalidInput("cursor", "is not a cursor this service issued for this sort")
        try:
            return [*texts, UUID(key[-1])]
        except (ValueError, TypeError, AttributeError):
            raise InvalidInput("cursor", "is not a cursor this service issued") from None
    return list(parse_jobs_cursor(cursor))


def folder_range(folder: str) -> tuple[str, str, str]:
    """(the folder, and the bounds of its subfolders): a folder filter matches both."""
    below = folder + "/"
    return folder, below, prefix_upper_bound(below)
