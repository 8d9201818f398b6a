"""The Notifications page in a real browser against a real `jobledger serve` (whose notifier
runs in the same process), with a real webhook receiver: an administrator adds a channel,
sends a test message through it, sees a run's notification on the run's page, and
deletes the channel; the signing secret is in no page and no response; others cannot."""

from __future__ import annotations

import json
import time
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Recorded, Server
from tests.browser.test_pages import assert_labelled, sign_in
from tests.receivers import webhook_receiver

SIGNING = "whsec-page-5d1e-never-shown"

expect.set_options(timeout=20_000)


def test_an_administrator_adds_tests_sees_and_deletes_a_channel(
    context: Any, server: Server
) -> None:
    recorded = Recorded()
    page = context.new_page()
    page.on("response", recorded.on_response)
    sign_in(page, server.admin_token)
    with webhook_receiver() as receiver:
        page.get_by_role("link", name="Notifications").click()
        expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()
        assert_labelled(page)
        page.get_by_label("Name").fill("page hooks")
        page.get_by_label("Type").select_option("webhook")
        page.get_by_label("Settings (JSON)").fill('{"url": "ftp://nowhere"}')
        page.get_by_label("Secrets (JSON, write-only)").fill(
            json.dumps({"signing_secret": SIGNING})
        )
        page.get_by_role("button", name="Add channel").click()
        expect(page.locator("#config-error")).to_contain_text("config.url")
        expect(page.get_by_label("Secrets (JSON, write-only)")).to_have_value("")
        page.get_by_label("Settings (JSON)").fill(json.dumps({"url": receiver.url}))
        page.get_by_label("Secrets (JSON, write-only)").fill(
            json.dumps({"signing_secret": SIGNING})
        )
        page.get_by_role("button", name="Add channel").click()
        expect(page.get_by_role("status")).to_have_text("Channel added.")
        row = page.locator('tr[data-channel="page hooks"]')
        expect(row).to_contain_text("signing_secret (set)")
        row.get_by_role("button", name="Send test").click()
        expect(page.get_by_role("status")).to_contain_text("Test message requested")
        [test] = receiver.wait_for(1)
        assert json.loads(test.body)["event"] == "test"
        assert test.headers["X-JobLedger-Signature"].startswith("sha256=")

        with server.api() as api:
            made = api.post(
                "/api/jobs",
                json={
                    # A success, not a failure: the browser tests share one server, and
                    # others expect no failed runs there.
                    "name": "Notified on success",
                    "job_type": "command",
                    "program": {"argv": ["true"]},
                    "notify": [{"channel": "page hooks", "on": ["succeeded"]}],
                },
            )
            assert made.status_code == 201, made.text
            run = api.post(f"/api/jobs/{made.json()['id']}/runs", json={})
            assert run.status_code == 202, run.text
            run_id = run.json()["run_id"]
        receiver.wait_for(2)
        # The receipt is recorded right after the receiver answers: wait for that record.
        with server.api() as api:
            deadline = time.monotonic() + 20
            while (
                api.get(f"/api/runs/{run_id}/notifications").json()["items"][0]["status"]
                != "delivered"
            ):
                assert time.monotonic() < deadline, "the delivery was never recorded"
                time.sleep(0.05)
        page.goto(f"/runs/{run_id}")
        section = page.locator("#run-notifications")
        expect(section).to_contain_text("page hooks")
        expect(section.locator('[data-field="delivery-status"]')).to_have_text("delivered")

        page.goto("/notifications")
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator('tr[data-channel="page hooks"]').get_by_role("button", name="Delete").click()
        expect(page.get_by_role("status")).to_contain_text("Channel deleted")
        expect(page.locator('tr[data-channel="page hooks"]')).to_have_count(0)
    leaks = [url for url, body in recorded.bodies if SIGNING.encode() in body]
    assert leaks == [] and SIGNING not in page.content()


def test_only_administrators_see_the_notifications_page(browser: Any, server: Server) -> None:
    token = server.token("operator", "otto-notifications")
    context = browser.new_context(base_url=server.url)
    try:
        page = context.new_page()
        sign_in(page, token)
        expect(page.get_by_role("link", name="Notifications")).to_have_count(0)
        assert page.request.get("/notifications", max_redirects=0).status == 403
    finally:
        context.close()


def test_a_jobs_rules_are_shown_and_changed_on_its_page(context: Any, server: Server) -> None:
    with server.api() as api:
        made = api.post(
            "/api/jobs",
            json={
                "name": "Rules on the page",
                "job_type": "command",
                "program": {"argv": ["true"]},
                "notify": [{"channel": "on-call", "on": ["failed"]}],
            },
        )
        assert made.status_code == 201, made.text
        job_id = made.json()["id"]
    page = context.new_page()
    sign_in(page, server.admin_token)
    page.goto(f"/jobs/{job_id}")
    expect(page.locator("#notify-rules")).to_have_text("on-call: failed")
    assert_labelled(page)
    page.get_by_label("Rules (JSON)").fill('[{"channel": "on-call", "on": ["failed", "often"]}]')
    page.get_by_role("button", name="Save rules").click()
    expect(page.get_by_text("notify.0.on.1")).to_be_visible()
    page.goto(f"/jobs/{job_id}")
    page.get_by_label("Rules (JSON)").fill(
        '[{"channel": "on-call", "on": ["recovered", "timed_out", "failed"]}]'
    )
    page.get_by_label("Long-running after (seconds, empty for the median rule)").fill("900")
    page.get_by_role("button", name="Save rules").click()
    expect(page.locator("#notify-rules")).to_have_text("on-call: failed, timed out, recovered")
    with server.api() as api:
        job = api.get(f"/api/jobs/{job_id}").json()
    assert job["notify"] == [{"channel": "on-call", "on": ["failed", "timed_out", "recovered"]}]
    assert job["long_running_seconds"] == 900
