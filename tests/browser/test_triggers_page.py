"""The job page's webhook triggers in a real browser against a real `jobledger serve`: an
administrator creates one and sees its URL and token once, the page lists it without the
token, the URL starts a run from outside, and revoking it stops that."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import Recorded, Server
from tests.browser.test_pages import api_job, assert_labelled, sign_in

expect.set_options(timeout=20_000)


def test_an_administrator_creates_lists_and_revokes_a_jobs_trigger(
    context: Any, recorded: Recorded, server: Server
) -> None:
    job = api_job(server, "Ticket sync (browser)", overridable_parameters=["ticket"])
    page = context.new_page()
    sign_in(page, server.admin_token)
    page.goto(f"/jobs/{job['id']}")
    triggers = page.locator("#triggers")
    expect(triggers).to_contain_text("No triggers.")
    assert_labelled(page)

    # A name the rule refuses is named beside its field; nothing is created.
    page.get_by_label("Trigger name").evaluate("el => el.removeAttribute('pattern')")
    page.get_by_label("Trigger name").fill("no/slash")
    page.get_by_role("button", name="Create trigger").click()
    expect(page.locator("#trigger-name-error")).to_contain_text("trigger name")
    expect(page.locator("#triggers")).to_contain_text("No triggers.")

    page.get_by_label("Trigger name").fill("tickets")
    page.get_by_role("button", name="Create trigger").click()
    expect(
        page.get_by_role("heading", name=re.compile("Trigger “tickets” created"))
    ).to_be_visible()
    url = page.locator("#trigger-url").inner_text().strip()
    token = page.locator("#trigger-token").inner_text().strip()
    assert token.startswith("jlh_")
    assert re.fullmatch(re.escape(server.url) + r"/hooks/[0-9a-f-]{36}", url), url

    page.get_by_role("link", name="Back to the job").click()
    row = page.locator("#triggers-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("tickets")
    expect(row).to_contain_text(url.removeprefix(server.url))
    assert token not in page.content()

    called = httpx.post(url, json={"ticket": "T-1"}, headers={"Authorization": f"Bearer {token}"})
    assert called.status_code == 202, called.text

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke tickets").click()
    expect(page.get_by_role("status")).to_contain_text("Trigger revoked")
    expect(page.locator("#triggers")).to_contain_text("No triggers.")
    again = httpx.post(url, headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 404

    # The audit page tells the story: made, called, refused, revoked; never the token.
    page.goto("/audit")
    page.get_by_label("Job id").fill(job["id"])
    page.get_by_label("Action").select_option(label="Run now")
    page.get_by_role("button", name="Filter").click()
    entries = page.locator("ol.history > li")
    expect(entries.first).to_contain_text("Ran “Ticket sync (browser)” by webhook from 127.0.0.1")
    expect(entries.first).to_contain_text("webhook:tickets")
    page.get_by_label("Job id").fill("")
    page.get_by_label("Action").select_option(label="Any webhook trigger change or refusal")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("Revoked a webhook trigger of “Ticket sync (browser)”")).to_be_visible()
    expect(page.get_by_text("Created the webhook trigger “tickets”")).to_be_visible()
    expect(
        page.get_by_text(re.compile(r"Refused a webhook call from 127\.0\.0\.1 \(404\)"))
    ).to_be_visible()

    # The token went to the browser once: in the page that created the trigger, no other.
    sent = [u for u, body in recorded.bodies if token.encode() in body]
    assert len(sent) == 1 and sent[0].endswith(f"/jobs/{job['id']}/triggers"), sent
