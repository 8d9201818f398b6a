"""The Audit page in a real browser against a real `jobledger serve`: who ran what and who
got access, filtered, in words, and downloaded as CSV with the same filters."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Server
from tests.browser.test_pages import SECRET, api_job, assert_labelled, sign_in


def test_the_audit_page_filters_who_ran_what_and_downloads_that_as_csv(
    browser: Any, server: Server, tmp_path: Path
) -> None:
    operator = server.token("operator", "audit-page-operator")  # by the command line
    job = api_job(server, "Audit page job", secrets={"API_KEY": SECRET})
    with server.api() as api:
        ran = api.post(f"/api/jobs/{job['id']}/runs", json={"parameters": {"tenant": "globex"}})
        assert ran.status_code == 202, ran.text
    context = browser.new_context(base_url=server.url, accept_downloads=True)
    try:
        page = context.new_page()
        sign_in(page, operator)
        page.goto("/audit")
        assert_labelled(page)
        page.get_by_label("Action").select_option(label="Run now")
        page.get_by_label("Job id").fill(job["id"])
        page.get_by_role("button", name="Filter").click()
        expect(page).to_have_url(re.compile(r"action=run\.requested"))
        entries = page.locator("ol.history > li")
        expect(entries).to_have_count(1)
        expect(entries.first).to_contain_text('Ran “Audit page job” now, with tenant = "globex"')
        expect(entries.first).to_contain_text("by token:admin")
        expect(page.get_by_label("Action")).to_have_value("run.requested")

        link = page.get_by_role("link", name="Download CSV")
        href = link.get_attribute("href") or ""
        assert href.startswith("/api/audit.csv?") and "action=run.requested" in href
        assert f"job_id={job['id']}" in href
        with page.expect_download() as started:
            link.click()
        saved = tmp_path / "audit.csv"
        started.value.save_as(saved)
        rows = list(csv.DictReader(io.StringIO(saved.read_text())))
        assert [(r["action"], r["actor"], r["job_id"]) for r in rows] == [
            ("run.requested", "token:admin", job["id"])
        ]
        assert json.loads(rows[0]["details"])["parameters"]["tenant"] == "globex"

        # Access: this very sign-in, by the operator token the command line made.
        page.get_by_label("Actor").fill("token:audit-page-operator")
        page.get_by_label("Action").select_option(label="Any access")
        page.get_by_label("Job id").fill("")
        page.get_by_role("button", name="Filter").click()
        expect(entries.first).to_contain_text(
            "Signed in with the token “audit-page-operator” from 127.0.0.1"
        )
        page.get_by_label("Actor").fill("")
        page.get_by_label("Action").select_option(label="Tokens created or revoked")
        page.get_by_role("button", name="Filter").click()
        expect(page.get_by_text("Created the operator token “audit-page-operator”")).to_be_visible()

        # A filter in error is shown beside its field, and there is nothing to download.
        page.goto("/audit?action=run.ran")
        expect(page.get_by_text("'run.ran' is not an action")).to_be_visible()
        expect(page.get_by_role("link", name="Download CSV")).to_have_count(0)
        assert SECRET not in page.content() and SECRET not in saved.read_text()
    finally:
        context.close()


def test_the_audit_page_shows_channel_changes_in_words_secrets_by_name(
    browser: Any, server: Server
) -> None:
    viewer = server.token("viewer", "audit-page-viewer")
    with server.api() as api:
        made = api.post(
            "/api/notification-channels",
            json={
                "name": "audit-pager",
                "type": "webhook",
                "config": {"url": "https://hooks.example.com/jl"},
                "secrets": {"signing_secret": SECRET},
            },
        )
        assert made.status_code == 201, made.text
        path = f"/api/notification-channels/{made.json()['id']}"
        assert api.patch(path, json={"name": "audit-pager-2"}).status_code == 200
        assert api.delete(path).status_code == 204
    context = browser.new_context(base_url=server.url)
    try:
        page = context.new_page()
        sign_in(page, viewer)
        page.goto("/audit")
        page.get_by_label("Action").select_option(label="Any notification channel change or test")
        page.get_by_role("button", name="Filter").click()
        # The server is shared by the session: other tests' channels may be listed too.
        entries = page.locator("ol.history > li", has_text="audit-pager")
        expect(entries).to_have_count(3)
        expect(entries.nth(0)).to_contain_text("Deleted the webhook channel “audit-pager-2”")
        expect(entries.nth(1)).to_contain_text(
            "Renamed the webhook channel “audit-pager-2” from “audit-pager”"
        )
        expect(entries.nth(2)).to_contain_text(
            "Created the webhook channel “audit-pager” with the secrets signing_secret"
        )
        expect(entries.nth(2)).to_contain_text("by token:admin")
        assert SECRET not in page.content()
    finally:
        context.close()
