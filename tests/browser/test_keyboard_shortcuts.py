"""Keyboard shortcuts in a real browser: "/" finds, "g" then a letter goes to a list, "n"
starts a new job, "r" runs the job shown (after a confirmation), "?" lists them; none of
them acts while typing in a field or with a modifier key held."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server
from tests.browser.test_pages import api_job, sign_in

expect.set_options(timeout=20_000)


def test_shortcuts_find_go_and_list_themselves_but_never_while_typing(
    context: Any, server: Server
) -> None:
    page: Page = context.new_page()
    sign_in(page, server.admin_token)
    search = page.locator("#q")
    page.wait_for_load_state("load")
    page.keyboard.press("/")
    expect(search).to_be_focused()
    # Typed into the field, keys are text: "g r" does not leave the page.
    page.keyboard.type("ngr?")
    expect(search).to_have_value("ngr?")
    expect(page.locator("#shortcut-help")).to_have_count(0)
    assert page.url.rstrip("/") == server.url + "/jobs"
    page.locator("h1").click()  # out of the field

    page.keyboard.press("?")
    help_box = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_box).to_be_visible()
    expect(help_box).to_contain_text("Go to the runs")
    page.keyboard.press("Escape")
    expect(help_box).to_be_hidden()

    page.keyboard.press("g")
    page.keyboard.press("r")
    expect(page).to_have_url(re.compile(r"/runs$"))
    # Keys pressed before the new page's scripts ran would be lost: wait for them.
    page.wait_for_load_state("load")
    page.keyboard.press("g")
    page.keyboard.press("a")
    expect(page).to_have_url(re.compile(r"/audit$"))
    page.wait_for_load_state("load")
    page.keyboard.press("g")
    page.keyboard.press("j")
    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
    # With a modifier held a key is the browser's, not ours.
    page.wait_for_load_state("load")
    page.keyboard.press("Alt+n")
    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
    page.keyboard.press("n")
    expect(page).to_have_url(re.compile(r"/jobs/new$"))


def test_r_runs_the_job_shown_after_a_confirmation(context: Any, server: Server) -> None:
    job = api_job(server, f"keyboard run {uuid4().hex[:6]}")
    page: Page = context.new_page()
    sign_in(page, server.admin_token)
    page.goto(f"/jobs/{job['id']}")
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        if len(asked) == 1:
            dialog.dismiss()
        else:
            dialog.accept()

    page.on("dialog", answer)
    page.keyboard.press("r")  # refused at the confirmation: nothing runs
    page.keyboard.press("r")
    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]{36}"))
    assert asked == [f"Run {job['name']} now?"] * 2
    with server.api() as api:
        runs = api.get("/api/runs", params={"job_id": job["id"]}).json()["items"]
    assert len(runs) == 1
