"""Totals and numbered pages of the jobs, runs and audit views, one contract run against
SQLite and PostgreSQL: each count equals the number of items its list gives over all its
pages, with the same filter; an offset page is the same slice of that list."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from domain.errors import InvalidInput
from projections.jobs import JobQuery
from tests.integration import test_views_contract as contract
from tests.integration.test_views_contract import Views, new_job, new_run, page_all


def slices_agree(query: Any, count: Any, size: int, **filters: Any) -> None:
    """`count(**filters)` is the length of the list, and page N by offset is its Nth slice."""
    everything = page_all(query, size, **filters)
    assert count(**{key: value for key, value in filters.items() if key != "sort"}) == len(
        everything
    )
    for start in range(0, len(everything) + size, size):
        page, _cursor = query(limit=size, offset=start, **filters)
        assert page == everything[start : start + size]


class CountsContract:
    """Subclasses provide the `views` fixture of the views contract."""

    def test_job_counts_follow_every_filter_and_offsets_page_every_sort(self, views: Views) -> None:
        jobs = [
            new_job(f"job {n:02}", folder="Ops/EU" if n % 3 else "Ops", tags=["t"] if n % 2 else [])
            for n in range(11)
        ]
        jobs[4].disable("bob")
        failed = new_run(jobs[1])
        views.feed(*jobs, failed)
        failed.start("w1")
        failed.fail(1, "boom")
        views.feed(failed)
        view = views.jobs.view
        assert view.count_jobs() == 11
        for filters in (
            {},
            {"enabled": False},
            {"folder": "Ops/EU"},
            {"tags": ["t"]},
            {"status": "failed"},
            {"search": "JOB 0"},
            {"name_prefix": "job 1"},
            {"job_type": "nothing-of-that-type"},
        ):
            query = JobQuery(**filters)
            slices_agree(partial(view.list_jobs, query), partial(view.count_jobs, query), 4)
        for sort in ("last_run", "last_status", "next_run"):
            slices_agree(view.list_jobs, view.count_jobs, 3, sort=sort)
        # After an offset page, its cursor leads on to the next slice.
        page, cursor = view.list_jobs(limit=4, offset=4)
        following, _ = view.list_jobs(limit=4, cursor=cursor)
        assert [j["name"] for j in page + following] == [f"job {n:02}" for n in range(4, 11)]
        with pytest.raises(InvalidInput) as error:
            view.list_jobs(offset=-1)
        assert error.value.field == "page"

    def test_run_counts_follow_every_filter(self, views: Views) -> None:
        job, other = new_job("a"), new_job("b")
        made = [new_run(job) for _ in range(7)] + [new_run(other) for _ in range(3)]
        views.feed(job, other, *made)
        made[0].start("w1")
        made[0].succeed()
        views.feed(made[0])
        view = views.runs.view
        at = sorted(r.created_on for r in made)
        for filters in (
            {},
            {"job_id": job.id},
            {"status": "queued"},
            {"status": "succeeded"},
            {"since": at[3]},
            {"until": at[5], "job_id": other.id},
        ):
            slices_agree(view.list_runs, view.count_runs, 3, **filters)
        assert view.count_runs(job_id=job.id, status="queued") == 6

    def test_audit_counts_follow_every_filter(self, views: Views) -> None:
        job, other = new_job("first"), new_job("other")
        views.feed(job, other)
        job.rename("second", "carol")
        other.disable("bob")
        job.change_log_level("Error", "carol")
        views.feed(job, other)
        view = views.audit.view
        assert view.count_entries() == 5
        for filters in (
            {},
            {"job_id": job.id},
            {"actor": "carol"},
            {"actions": ["disabled", "renamed"]},
            {"actor": "nobody"},
        ):
            slices_agree(view.entries, view.count_entries, 2, **filters)


class TestSQLiteCounts(CountsContract):
    views = contract.TestSQLiteViews.views


@pytest.mark.postgres
class TestPostgresCounts(CountsContract):
    views = contract.TestPostgresViews.views
