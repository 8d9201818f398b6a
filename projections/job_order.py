"""How a page of the jobs view is ordered and filtered by folder: the sorts, and the
cursors that carry each sort's key so every sort pages by keyset, on either store."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domain.errors import InvalidInput
from projections.base import decode_cursor, encode_cursor
from projections.jobs import jobs_cursor, parse_jobs_cursor, prefix_upper_bound
from projections.next_fires import NextFires

# How a page of jobs may be ordered: by name; by last run, newest first; by last run
# status, then name; by next run, soonest first (jobs that will not fire last, by id).
# The next run is a function of the schedule and the clock, not of any event, so no view
# stores it: `next_run_page` computes it on read for every job the filter keeps.
SORTS = ("name", "last_run", "last_status", "next_run")

NEXT_FIRES = NextFires()  # one memory per process: many jobs share few schedules
NEVER = "~"  # sorts after every ISO instant: the key of a job that will not fire


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
    if sort in ("last_run", "last_status", "next_run"):
        size = 4 if sort == "last_status" else 3
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


# (id, cron, zone, enabled) of each job a filter keeps: what `next_run_page` orders.
ScheduleRow = tuple[UUID, str | None, str | None, bool]


def next_run_page(
    schedules: Iterable[ScheduleRow],
    at: datetime,
    *,
    limit: int,
    cursor: str | None,
    offset: int,
    fetch: Callable[[list[UUID]], dict[UUID, dict[str, Any]]],
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of jobs by next run after `at`, over ALL the jobs in `schedules` (not one page
    taken by name): each job's next fire time, soonest first, then those that will not fire
    (disabled or unscheduled), each tie by id; `fetch` reads the page's rows by id. The
    cursor carries (next run, id), so a later page starts after the last job shown even if
    the clock has moved; a job whose fire passed meanwhile moves on to its next one."""
    # Many jobs share few schedules: each distinct one is reckoned (and formatted) once.
    keys: dict[tuple[str, str], str] = {}
    keyed: list[tuple[str, str, UUID]] = []
    for job_id, cron, zone, enabled in schedules:
        key = NEVER
        if enabled and cron:
            schedule = (cron, zone or "UTC")
            if schedule not in keys:
                keys[schedule] = _fire_key(schedule, at)
            key = keys[schedule]
        keyed.append((key, str(job_id), job_id))
    keyed.sort()
    if cursor is not None:
        after, after_id = parse_sort_cursor(cursor, "next_run")
        bound = (NEVER if after is None else after, str(after_id))
        keyed = [item for item in keyed if item[:2] > bound]
    chosen = keyed[offset : offset + limit + 1]  # one more: is there a next page?
    rows = fetch([job_id for _key, _text, job_id in chosen[:limit]])
    jobs = [rows[job_id] for _key, _text, job_id in chosen[:limit] if job_id in rows]
    if len(chosen) <= limit or not jobs:
        return jobs, None
    last_key, last_id, _ = chosen[limit - 1]
    return jobs, encode_cursor("next_run", None if last_key == NEVER else last_key, last_id)


def _fire_key(schedule: tuple[str, str], at: datetime) -> str:
    """The sort key of a schedule's next fire after `at`: its UTC instant as ISO text."""
    fire = NEXT_FIRES.next_fire(*schedule, at)
    return NEVER if fire is None else fire.astimezone(UTC).isoformat(timespec="microseconds")
