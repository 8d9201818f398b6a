"""The run log in a real browser: a search box that narrows the lines shown to those
containing the text (highlighted, counted), live lines included; and "Follow new lines",
which keeps the newest line in view while a job writes, until it is turned off."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server
from tests.browser.test_pages import api_job, sign_in

expect.set_options(timeout=30_000)

WRITER = (
    "import time\n"
    "for i in range(150):\n"
    "    print(f'INFO: line {i} ' + ('Apple pie' if i % 10 == 0 else 'pear'), flush=True)\n"
    "    time.sleep(0.05)\n"
)


def test_a_running_log_is_followed_then_searched(context: Any, server: Server) -> None:
    job = api_job(
        server, f"log search {uuid4().hex[:6]}", program={"argv": ["python3", "-c", WRITER]}
    )
    page: Page = context.new_page()
    page.set_viewport_size({"width": 1000, "height": 600})
    sign_in(page, server.admin_token)
    with server.api() as api:
        run_id = api.post(f"/api/jobs/{job['id']}/runs", json={}).json()["run_id"]
    page.goto(f"/runs/{run_id}")
    follow = page.get_by_label("Follow new lines")
    expect(follow).to_be_checked()
    # Following: each new line is brought into view as it arrives.
    rows = page.locator("#log tbody tr")
    expect(rows.nth(40)).to_be_attached()
    expect(rows.last).to_be_in_viewport()
    # Not following: new lines arrive and the page stays where the reader put it.
    follow.uncheck()
    page.evaluate("window.scrollTo(0, 0)")
    seen = rows.count()
    expect(rows.nth(seen + 20)).to_be_attached()
    assert page.evaluate("window.scrollY") == 0

    # Search: the lines containing the text, in any case, highlighted and counted.
    search = page.get_by_label("Find in the log")
    search.fill("apple")
    expect(page.locator("#run-status")).to_contain_text("succeeded")
    expect(page.locator("#log-search-count")).to_have_text("15 of 150 lines match")
    visible = page.locator("#log tbody tr:visible")
    expect(visible).to_have_count(15)
    expect(visible.first.locator("mark")).to_have_text("Apple")
    expect(visible.first.locator("td.message")).to_have_text("line 0 Apple pie")
    search.fill("")
    expect(page.locator("#log-search-count")).to_have_text("")
    expect(visible).to_have_count(150)
    expect(page.locator("#log mark")).to_have_count(0)

    # A finished run's page searches too, and has nothing to follow.
    page.reload()
    expect(page.get_by_label("Follow new lines")).to_have_count(0)
    page.get_by_label("Find in the log").fill("LINE 14")
    expect(page.locator("#log-search-count")).to_have_text("11 of 150 lines match")
