"""Bulk actions in a real browser: jobs ticked on the list are disabled, run now or deleted
after one confirmation that lists them, each change its own event with the actor; queued
and running runs ticked on the runs list are cancelled; and the same works without
JavaScript."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server
from tests.browser.test_pages import api_job, sign_in

expect.set_options(timeout=20_000)

SLEEPER = {"argv": ["python3", "-c", "import time; time.sleep(120)"]}


def three_jobs(server: Server, word: str, **extra: Any) -> list[dict[str, Any]]:
    return [api_job(server, f"{word} {n}", **extra) for n in range(3)]


def test_an_administrator_disables_jobs_chosen_on_the_list_after_one_confirmation(
    context: Any, server: Server
) -> None:
    word = f"bulkdis{uuid4().hex[:6]}"
    jobs = three_jobs(server, word)
    page: Page = context.new_page()
    sign_in(page, server.admin_token)
    page.goto(f"/jobs?q={word}")
    bar = page.locator("#bulk-jobs")
    expect(bar.get_by_role("button", name="Disable")).to_be_disabled()
    page.get_by_label("Choose every job on this page").check()
    expect(bar).to_contain_text("3 chosen")
    page.get_by_label(f"Choose {word} 1").uncheck()
    expect(bar).to_contain_text("2 chosen")
    expect(page.get_by_label("Choose every job on this page")).not_to_be_checked()
    bar.get_by_role("button", name="Disable").click()
    # One confirmation page listing exactly the chosen jobs; nothing is changed yet.
    expect(page.get_by_role("heading", name="Disable 2 jobs?")).to_be_visible()
    expect(page.locator("#bulk-items li")).to_have_text([f"{word} 0", f"{word} 2"])
    with server.api() as api:
        assert all(api.get(f"/api/jobs/{job['id']}").json()["enabled"] for job in jobs)
    page.get_by_role("button", name="Disable 2 jobs").click()
    expect(page.locator("#bulk-summary")).to_have_text("2 disabled.")
    expect(page.locator("#bulk-results tbody tr[data-ok=yes]")).to_have_count(2)
    with server.api() as api:
        shown = [api.get(f"/api/jobs/{job['id']}").json() for job in jobs]
        assert [job["enabled"] for job in shown] == [False, True, False]
        for job in (jobs[0], jobs[2]):
            last = api.get(f"/api/jobs/{job['id']}/history").json()["items"][-1]
            assert last["event"] == "Disabled" and last["actor"].startswith("token:")
    # Back to the list as it was filtered.
    page.get_by_role("link", name="Back to the jobs").click()
    expect(page).to_have_url(re.compile(rf"/jobs\?q={word}$"))
    expect(page.locator("table.list tbody tr")).to_have_count(3)


def test_an_operator_runs_chosen_jobs_now_and_is_offered_no_other_action(
    browser: Any, server: Server
) -> None:
    word = f"bulkrun{uuid4().hex[:6]}"
    three_jobs(server, word)
    token = server.token("operator", f"bulk-operator-{uuid4().hex[:6]}")
    context = browser.new_context(base_url=server.url)
    try:
        page = context.new_page()
        sign_in(page, token)
        page.goto(f"/jobs?q={word}")
        bar = page.locator("#bulk-jobs")
        expect(bar.get_by_role("button")).to_have_text(["Run now"])
        page.get_by_label("Choose every job on this page").check()
        bar.get_by_role("button", name="Run now").click()
        page.get_by_role("button", name="Run now 3 jobs").click()
        expect(page.locator("#bulk-summary")).to_have_text("3 run.")
        run_links = page.locator("#bulk-results").get_by_role("link", name="its run")
        expect(run_links).to_have_count(3)
        run_links.first.click()
        expect(page.locator("#run-status")).to_be_visible()
        expect(page.locator("body")).to_contain_text("bulk-operator")
    finally:
        context.close()


def test_queued_and_running_runs_are_cancelled_from_the_runs_list(
    context: Any, server: Server
) -> None:
    job = api_job(server, f"bulkcancel {uuid4().hex[:6]}", program=SLEEPER)
    with server.api() as api:
        run_ids = [
            api.post(f"/api/jobs/{job['id']}/runs", json={}).json()["run_id"] for _ in range(2)
        ]
    page: Page = context.new_page()
    sign_in(page, server.admin_token)
    page.goto(f"/runs?job_id={job['id']}")
    page.get_by_label("Choose every queued or running run on this page").check()
    page.locator("#bulk-runs").get_by_role("button", name="Cancel runs").click()
    expect(page.get_by_role("heading", name="Cancel 2 runs?")).to_be_visible()
    page.get_by_role("button", name="Cancel 2 runs").click()
    expect(page.locator("#bulk-summary")).to_have_text("2 cancel requested.")
    for run_id in run_ids:
        page.goto(f"/runs/{run_id}")
        expect(page.locator("#run-status")).to_contain_text("cancelled")
    page.goto(f"/runs?job_id={job['id']}")
    # Finished runs offer no box to tick, so no bar either.
    expect(page.locator("#bulk-runs")).to_have_count(0)


def test_jobs_are_deleted_in_bulk_without_javascript(browser: Any, server: Server) -> None:
    word = f"bulkdel{uuid4().hex[:6]}"
    jobs = three_jobs(server, word)
    context = browser.new_context(base_url=server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, server.admin_token)
        page.goto(f"/jobs?q={word}")
        # Without JavaScript there is no "choose all" box; each row's box still posts.
        expect(page.get_by_label("Choose every job on this page")).to_be_hidden()
        page.get_by_label(f"Choose {word} 0").check()
        page.get_by_label(f"Choose {word} 1").check()
        page.locator("#bulk-jobs").get_by_role("button", name="Delete").click()
        expect(page.get_by_role("heading", name="Delete 2 jobs?")).to_be_visible()
        page.get_by_role("button", name="Delete 2 jobs").click()
        expect(page.locator("#bulk-summary")).to_have_text("2 deleted.")
        with server.api() as api:
            statuses = [api.get(f"/api/jobs/{job['id']}").status_code for job in jobs]
        assert statuses == [404, 404, 200]
        # Nothing chosen: the server says so, and nothing changes.
        page.goto(f"/jobs?q={word}")
        page.locator("#bulk-jobs").get_by_role("button", name="Delete").click()
        expect(page.get_by_role("heading", name="Nothing chosen")).to_be_visible()
    finally:
        context.close()


def test_a_viewer_is_offered_no_bulk_action(browser: Any, server: Server) -> None:
    word = f"bulkview{uuid4().hex[:6]}"
    job = api_job(server, word, program=SLEEPER)
    with server.api() as api:
        api.post(f"/api/jobs/{job['id']}/runs", json={})
    token = server.token("viewer", f"bulk-viewer-{uuid4().hex[:6]}")
    context = browser.new_context(base_url=server.url)
    try:
        page = context.new_page()
        sign_in(page, token)
        page.goto(f"/jobs?q={word}")
        expect(page.locator("table.list tbody tr")).to_have_count(1)
        expect(page.locator("#bulk-jobs, table.list input[type=checkbox]")).to_have_count(0)
        page.goto(f"/runs?job_id={job['id']}")
        expect(page.locator("#runs-table tbody tr")).to_have_count(1)
        expect(page.locator("#bulk-runs, #runs-table input[type=checkbox]")).to_have_count(0)
    finally:
        context.close()
    with server.api() as api:
        for run in api.get("/api/runs", params={"job_id": job["id"]}).json()["items"]:
            api.post(f"/api/runs/{run['id']}/cancel")
