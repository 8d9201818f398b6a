"""Long lists in a real browser: totals and numbered pages on the jobs, runs and audit
lists, and times on lists shown as "3 min ago" (the time itself on hover) that age
without a reload."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server
from tests.browser.test_pages import api_job, sign_in

expect.set_options(timeout=20_000)


def test_the_jobs_list_shows_its_total_and_numbered_pages(context: Any, server: Server) -> None:
    word = f"paged{uuid4().hex[:6]}"
    with server.api() as api:
        for n in range(53):
            made = api.post(
                "/api/jobs",
                json={
                    "name": f"{word} {n:02}",
                    "job_type": "command",
                    "program": {"argv": ["true"]},
                },
            )
            assert made.status_code == 201, made.text
    page: Page = context.new_page()
    sign_in(page, server.admin_token)
    page.goto(f"/jobs?q={word}")
    pager = page.get_by_role("navigation", name="Pages")
    expect(pager.locator(".page-summary")).to_have_text("1–50 of 53")
    expect(pager.get_by_role("link", name="Page 1")).to_have_attribute("aria-current", "page")
    pager.get_by_role("link", name="Page 2").click()
    expect(page).to_have_url(re.compile(rf"/jobs\?q={word}&page=2$"))
    expect(page.locator(".page-summary")).to_have_text("51–53 of 53")
    names = page.locator("table.list tbody tr td:first-child a")
    expect(names).to_have_text([f"{word} {n}" for n in (50, 51, 52)])
    # Next follows the cursor and says which page it leads to.
    page.get_by_role("link", name="Previous").click()
    expect(page.locator(".page-summary")).to_have_text("1–50 of 53")
    page.get_by_role("link", name="Next page").click()
    expect(page).to_have_url(re.compile(r"cursor=[A-Za-z0-9_-]+&page=2$"))
    expect(page.locator(".page-summary")).to_have_text("51–53 of 53")
    expect(names).to_have_count(3)
    # A filter narrows the total too; a bad page number is a page saying so.
    page.goto(f"/jobs?q={word}+0")
    expect(page.locator(".page-summary")).to_have_text("1–10 of 10")
    expect(page.get_by_role("link", name="Page 2")).to_have_count(0)
    page.goto(f"/jobs?q={word}&page=zero")
    expect(page.get_by_role("heading", name="Bad page link")).to_be_visible()


def test_the_runs_and_audit_lists_show_their_totals(context: Any, server: Server) -> None:
    job = api_job(server, f"counted {uuid4().hex[:6]}")
    with server.api() as api:
        for _ in range(3):
            api.post(f"/api/jobs/{job['id']}/runs", json={})
    page: Page = context.new_page()
    sign_in(page, server.admin_token)
    page.goto(f"/runs?job_id={job['id']}")
    expect(page.locator(".page-summary")).to_have_text("1–3 of 3")
    page.goto(f"/audit?job_id={job['id']}")
    # Registered, then three runs requested.
    expect(page.locator(".page-summary")).to_have_text("1–4 of 4")


def test_times_on_lists_say_how_long_ago_and_age_without_a_reload(
    browser: Any, server: Server
) -> None:
    job = api_job(server, f"relative {uuid4().hex[:6]}")
    with server.api() as api:
        api.post(f"/api/jobs/{job['id']}/runs", json={})
    context = browser.new_context(base_url=server.url, timezone_id="Asia/Kolkata")
    try:
        page = context.new_page()
        page.clock.install()
        sign_in(page, server.admin_token)
        page.goto(f"/runs?job_id={job['id']}")
        requested = page.locator("#runs-table tbody tr td:first-child time")
        expect(requested).to_have_text("just now")
        iso = requested.get_attribute("datetime")
        assert iso is not None
        # The time itself on hover, in the reader's zone, and its UTC instant.
        expect(requested).to_have_attribute(
            "title", re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (IST|UTC\+05:30) \(.* UTC\)$")
        )
        page.clock.fast_forward("03:10")
        expect(requested).to_have_text("3 min ago")
        page.clock.fast_forward("02:00:00")
        expect(requested).to_have_text("2 h ago")
        page.goto(f"/audit?job_id={job['id']}")
        expect(page.locator("article time, .meta time").first).to_have_text(
            re.compile(r"^(just now|\d+ (min|h) ago)$")
        )
        # Times that are not on a list keep their absolute form.
        page.goto(f"/jobs/{job['id']}")
        expect(page.locator("p.meta time").first).to_have_text(
            re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")
        )
    finally:
        context.close()
