"""The web pages in a real browser against a real `jobledger serve`: what a new user does.

Sign in with the printed token, create a command job with a schedule, parameters and a
secret, run it, watch its log arrive live, filter it, edit the job, review the change in
its history, see the job as it was; and at every step, the secret's value is in no page
and no response.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Recorded, Server

SECRET = "sv-4f1c9e7a-never-shown-in-a-page"
REPLACED = "sv-0b3d-the-replacement-never-shown"
PROGRAM = {
    "argv": [
        "python3",
        "-c",
        "import sys, time; print('INFO: hello', flush=True); time.sleep(2); "
        "print('WARNING: careful', flush=True); print('oops', file=sys.stderr, flush=True); "
        "time.sleep(0.3)",
    ]
}

expect.set_options(timeout=20_000)


def sign_in(page: Page, token: str) -> None:
    page.goto("/jobs")
    expect(page).to_have_url(re.compile(r"/login\?next=/jobs$"))
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()


def assert_no_secret(page: Page, recorded: Recorded | None = None) -> None:
    html = page.content()
    assert SECRET not in html and REPLACED not in html
    if recorded is not None:
        assert recorded.unread == [], f"responses whose bodies could not be read: {recorded.unread}"
        assert len(recorded.bodies) > 20, "too few responses were recorded"
        leaks = [
            url
            for url, body in recorded.bodies
            if SECRET.encode() in body or REPLACED.encode() in body
        ]
        assert leaks == [], f"the secret value was sent in {leaks}"


UNLABELLED = """() => Array.from(document.querySelectorAll(
    'input:not([type=hidden]), select, textarea'))
  .filter((el) => !el.closest('[hidden]'))  // a code editor's textarea: the editor is labelled
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
  .map((el) => el.outerHTML)"""


def assert_labelled(page: Page) -> None:
    """Every form control has a label a screen reader announces."""
    assert page.evaluate(UNLABELLED) == []


def api_job(server: Server, name: str, **extra: Any) -> dict[str, Any]:
    with server.api() as api:
        made = api.post(
            "/api/jobs",
            json={"name": name, "job_type": "command", "program": {"argv": ["true"]}, **extra},
        )
        assert made.status_code == 201, made.text
        job: dict[str, Any] = made.json()
        return job


def test_a_new_user_creates_runs_edits_and_reviews_a_job(
    context: Any, recorded: Recorded, server: Server
) -> None:
    page = context.new_page()
    sign_in(page, server.admin_token)

    # A new command job with a schedule, parameters and a secret.
    assert_labelled(page)
    page.get_by_role("link", name="New job").click()
    assert_labelled(page)
    page.get_by_label("Name", exact=True).fill("Nightly report")
    page.get_by_label("Job type").select_option("command")
    page.get_by_label("Program (JSON)").fill(json.dumps(PROGRAM))
    page.get_by_label("Time zone").fill("Europe/London")
    # The preview follows the typing; a schedule across the clock changes is marked.
    page.get_by_label("CRON expression").fill("0 12 28-31 3,10 *")
    preview = page.locator("#schedule-preview")
    expect(preview.locator("li")).to_have_count(10)
    expect(preview.locator(".dst-mark").first).to_be_visible()
    page.get_by_label("CRON expression").fill("30 1 * * *")
    expect(preview).to_contain_text("01:30")
    expect(preview.locator("li")).to_have_count(10)
    # The parameters editor refuses anything but a JSON object before the form is sent.
    parameters = page.get_by_label("Parameters (JSON object)")
    parameters.fill("[1, 2]")
    expect(page.locator(".json-status.invalid")).to_contain_text("JSON object")
    page.get_by_role("button", name="Create job").click()
    expect(page).to_have_url(re.compile(r"/jobs/new$"))
    parameters.fill('{"region": "eu", "limit": 5}')
    expect(page.locator(".json-status.invalid")).to_have_count(0)
    page.get_by_label("Log level").select_option("Info")
    page.locator("#secret_name_1").fill("API_KEY")
    page.locator("#secret_value_1").fill(SECRET)
    page.get_by_role("button", name="Create job").click()

    expect(page.get_by_role("status")).to_have_text("Job created.")
    expect(page.get_by_role("heading", name="Nightly report")).to_be_visible()
    secrets = page.locator("#secrets table")
    expect(secrets).to_contain_text("API_KEY")
    expect(secrets).to_contain_text("token:admin")
    job_url = page.url.split("?")[0]
    assert_no_secret(page)
    assert_labelled(page)

    # Secrets are set, replaced and removed by name; a value is never put back in a form.
    page.get_by_label("Secret name").fill("API_KEY")
    page.locator("#secret_value").fill(REPLACED)
    page.get_by_role("button", name="Set secret").click()
    expect(page.get_by_role("status")).to_contain_text("Secret stored")
    page.get_by_label("Secret name").fill("SPARE")
    page.locator("#secret_value").fill(REPLACED)
    page.get_by_role("button", name="Set secret").click()
    expect(secrets.locator("tbody tr")).to_have_count(2)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove SPARE").click()
    expect(page.get_by_role("status")).to_have_text("Secret removed.")
    expect(secrets.locator("tbody tr")).to_have_count(1)
    expect(page.locator("#secret_value")).to_have_value("")

    # Run now, with an override; the run page follows the log as it is written.
    page.get_by_label(re.compile("Parameter overrides")).fill('{"limit": 7}')
    page.get_by_role("button", name="Run now").click()
    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]{36}\?new=1$"))
    log = page.locator("#log")
    assert log.get_attribute("data-live") == "true", "the run had finished before its page"
    page.evaluate("window.__notReloaded = true")
    expect(log.locator("tbody tr", has_text="hello")).to_be_visible()
    expect(log.locator("tbody tr", has_text="careful")).to_be_visible()
    expect(log.locator("tbody tr", has_text="oops")).to_be_visible()
    expect(page.locator("#run-status")).to_contain_text("succeeded")
    assert page.evaluate("window.__notReloaded === true"), "the log arrived by reloading"
    expect(page.locator('[data-field="exit_code"]')).to_have_text("0")
    assert_labelled(page)

    # Filter by level: Warning and above.
    page.get_by_label("Show from level").select_option("Warning")
    expect(log.locator("tbody tr:visible")).to_have_count(2)
    expect(log.locator("tbody tr", has_text="hello")).to_be_hidden()
    expect(log.locator("tbody tr", has_text="careful")).to_be_visible()
    download = page.locator("#log-download").get_attribute("href")
    assert download is not None and download.endswith("min_level=Warning")
    text = page.request.get(download)
    assert text.ok and "careful" in text.text() and "oops" in text.text()
    assert "hello" not in text.text()
    assert_no_secret(page)

    # Edit the job: a new name and parameters.
    page.goto(job_url)
    page.get_by_label("Name", exact=True).fill("Nightly report v2")
    page.get_by_label("Parameters (JSON object)").fill('{"region": "us", "limit": 5}')
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_have_text("Changes saved.")
    expect(page.get_by_role("heading", name="Nightly report v2")).to_be_visible()

    # Its history shows the save as one change, in words, each field by its form label.
    page.get_by_role("link", name="History").click()
    saved = page.locator("li.card", has=page.locator(".event", has_text="Renamed from"))
    expect(saved.locator(".event")).to_have_text(
        "Renamed from “Nightly report” to “Nightly report v2”; parameters changed"
    )
    expect(saved.locator('tr[data-field="name"] th')).to_have_text("Name")
    expect(saved.locator('tr[data-field="name"] td.before')).to_have_text("Nightly report")
    expect(saved.locator('tr[data-field="name"] td.after')).to_have_text("Nightly report v2")
    parameters_row = saved.locator('tr[data-field="parameters"]')
    expect(parameters_row.locator("td.before")).to_contain_text('"region": "eu"')
    expect(parameters_row.locator("td.after")).to_contain_text('"region": "us"')
    created = page.locator("li.card", has=page.locator(".event", has_text="Created"))
    expect(created.locator(".event")).to_have_text("Created; secret API_KEY set")
    replaced = page.locator("li.card", has=page.locator(".event", has_text="API_KEY replaced"))
    expect(replaced.locator("th")).to_contain_text(["Secret API_KEY"])
    expect(replaced.locator("td.after")).to_have_text("(set)")
    expect(page.locator(".event", has_text="Secret SPARE set")).to_have_count(1)
    expect(page.locator("ol.history")).not_to_contain_text("SecretStored")
    assert_no_secret(page)

    # The job as it was before the edit: at the time of the last change before it.
    removed = page.locator("li.card", has=page.locator(".event", has_text="SPARE removed"))
    removed.get_by_role("link", name="the job as it was then").click()
    expect(page.locator('[data-field="name"]')).to_have_text("Nightly report")
    expect(page.locator('[data-field="parameters"]')).to_contain_text('"region": "eu"')
    expect(page.locator('[data-field="secrets"]')).to_contain_text("API_KEY")
    expect(page.locator('[data-field="secrets"]')).not_to_contain_text("SPARE")
    assert_no_secret(page)

    # The jobs list: schedule in words, last run status.
    page.get_by_role("link", name="Jobs", exact=True).click()
    row = page.locator("tr", has_text="Nightly report v2")
    expect(row).to_contain_text("Europe/London")
    # The next run in the job's own zone, with the UTC instant on hover.
    next_run = row.locator("td").nth(3).locator("time")
    expect(next_run).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d 01:30:00 (GMT|BST)$"))
    expect(next_run).to_have_attribute("title", re.compile(r"^\d{4}-\d\d-\d\d \d\d:30:00 UTC$"))
    expect(row).to_contain_text("succeeded")

    # Runs list, filtered by status.
    page.goto("/runs?status=succeeded")
    expect(page.locator("#runs-table")).to_contain_text("Nightly report")
    assert_labelled(page)
    # This job's failed runs: none (other tests on this shared server leave failures).
    page.goto(f"/runs?status=failed&job_id={job_url.rsplit('/', 1)[-1]}")
    expect(page.get_by_text("No runs match.")).to_be_visible()

    assert_no_secret(page, recorded)
    # The live log stream the run page read, read again whole now that the run has ended.
    assert recorded.streams, "the run page did not follow the log stream"
    with server.api() as api:
        for url in recorded.streams:
            stream = api.get(url.split("?")[0])
            assert stream.status_code == 200 and "event: end" in stream.text
            assert "hello" in stream.text
            assert SECRET not in stream.text and REPLACED not in stream.text


def test_a_bad_cron_is_shown_beside_its_field_and_nothing_is_saved(
    context: Any, server: Server
) -> None:
    job = api_job(server, "Cron check", schedule={"cron": "0 2 * * *", "timezone": "UTC"})
    page = context.new_page()
    sign_in(page, server.admin_token)
    page.goto(f"/jobs/{job['id']}")
    page.get_by_label("Name", exact=True).fill("Renamed but not saved")
    page.get_by_label("CRON expression").fill("61 * * * *")
    page.get_by_role("button", name="Save changes").click()
    error = page.locator("#cron-error")
    expect(error).to_contain_text("61")
    expect(page.get_by_label("CRON expression")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".form-error")).to_contain_text("Nothing was saved")
    with server.api() as api:
        now = api.get(f"/api/jobs/{job['id']}").json()
    assert now["version"] == job["version"] and now["name"] == "Cron check"
    assert now["schedule"]["cron"] == "0 2 * * *"


def test_the_jobs_filter_finds_a_word_in_a_name_or_description_ignoring_case(
    context: Any, server: Server
) -> None:
    api_job(server, "Zebrafilter invoices")
    api_job(server, "Nightly backup", description="keeps the ZEBRAFILTER archive")
    api_job(server, "Payroll for zebras")
    page = context.new_page()
    sign_in(page, server.admin_token)
    page.get_by_label("Name or description contains").fill("zebraFILTER")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/jobs\?q=zebraFILTER$"))
    names = page.locator("table.list tbody tr td:first-child a")
    expect(names).to_have_text(["Nightly backup", "Zebrafilter invoices"])
    expect(page.get_by_label("Name or description contains")).to_have_value("zebraFILTER")
    assert_labelled(page)


def test_a_form_posted_without_the_csrf_token_is_refused(context: Any, server: Server) -> None:
    job = api_job(server, "CSRF check")
    page = context.new_page()
    sign_in(page, server.admin_token)
    refused = page.request.post(
        f"/jobs/{job['id']}/run", form={"parameters": "{}"}, max_redirects=0
    )
    assert refused.status == 403 and "CSRF" in refused.text()
    wrong = page.request.post(
        f"/jobs/{job['id']}/secrets",
        form={"name": "X", "value": "y", "csrf_token": "not-the-token"},
        max_redirects=0,
    )
    assert wrong.status == 403
    api_refused = page.request.post(f"/api/jobs/{job['id']}/runs", data={}, max_redirects=0)
    assert api_refused.status == 403
    with server.api() as api:
        assert api.get(f"/api/runs?job_id={job['id']}").json()["items"] == []
        assert api.get(f"/api/jobs/{job['id']}").json()["secrets"] == []


def test_a_viewer_sees_but_cannot_change(browser: Any, server: Server) -> None:
    job = api_job(server, "Viewer check")
    token = server.token("viewer", "vera")
    context = browser.new_context(base_url=server.url)
    try:
        page = context.new_page()
        sign_in(page, token)
        expect(page.get_by_role("link", name="New job")).to_have_count(0)
        page.goto(f"/jobs/{job['id']}")
        expect(page.get_by_role("heading", name="Viewer check")).to_be_visible()
        expect(page.get_by_role("button", name="Save changes")).to_have_count(0)
        expect(page.get_by_role("button", name="Run now")).to_have_count(0)
        expect(page.get_by_role("button", name="Set secret")).to_have_count(0)
        expect(page.get_by_label("Name", exact=True)).to_be_disabled()
        csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
        assert csrf
        refused = page.request.post(
            f"/jobs/{job['id']}",
            form={"csrf_token": csrf, "name": "Changed by a viewer", "program": "{}"},
            max_redirects=0,
        )
        assert refused.status == 403
        assert page.request.get("/jobs/new", max_redirects=0).status == 403
    finally:
        context.close()
    with server.api() as api:
        assert api.get(f"/api/jobs/{job['id']}").json()["name"] == "Viewer check"


@pytest.mark.parametrize("path", ["/", "/jobs", "/runs", "/audit"])
def test_pages_need_signing_in(browser: Any, server: Server, path: str) -> None:
    context = browser.new_context(base_url=server.url)
    try:
        page = context.new_page()
        page.goto(path)
        expect(page).to_have_url(re.compile(r"/login\?next="))
        expect(page.get_by_label("Token")).to_have_attribute("type", "password")
    finally:
        context.close()


def test_an_edit_based_on_a_stale_page_is_refused_and_kept_in_the_form(
    context: Any, server: Server
) -> None:
    job = api_job(server, "Stale check")
    page = context.new_page()
    sign_in(page, server.admin_token)
    page.goto(f"/jobs/{job['id']}")
    with server.api() as api:  # someone else changes the job meanwhile
        changed = api.patch(
            f"/api/jobs/{job['id']}",
            json={"description": "changed elsewhere"},
            headers={"If-Match": str(job["version"])},
        )
        assert changed.status_code == 200, changed.text
    page.get_by_label("Name", exact=True).fill("My stale rename")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".form-error")).to_contain_text("Someone else changed this job")
    expect(page.get_by_label("Name", exact=True)).to_have_value("My stale rename")
    page.get_by_role("button", name="Save changes").click()  # again: still refused
    expect(page.locator(".form-error")).to_contain_text("Someone else changed this job")
    with server.api() as api:
        now = api.get(f"/api/jobs/{job['id']}").json()
    assert now["name"] == "Stale check" and now["description"] == "changed elsewhere"


def test_an_operator_runs_and_cancels_but_cannot_edit_then_signs_out(
    browser: Any, server: Server
) -> None:
    sleeper = {
        "argv": ["python3", "-c", "import time; print('started', flush=True); time.sleep(60)"]
    }
    job = api_job(server, "Operator check", program=sleeper)
    context = browser.new_context(base_url=server.url)
    try:
        page = context.new_page()
        sign_in(page, server.token("operator", "olga"))
        page.goto(f"/jobs/{job['id']}")
        expect(page.get_by_role("button", name="Save changes")).to_have_count(0)
        expect(page.get_by_role("button", name="Set secret")).to_have_count(0)
        page.get_by_role("button", name="Run now").click()
        expect(page.locator("#log tbody tr", has_text="started")).to_be_visible()
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Cancel run").click()
        expect(page.get_by_role("status")).to_have_text("Cancellation requested.")
        expect(page.locator("#run-status")).to_contain_text("cancelled")
        finished = page.locator('[data-field="finished_at"] time')
        expect(finished).to_have_attribute("title", re.compile(r" UTC$"))

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("status")).to_have_text("You are signed out.")
        page.goto("/runs")
        expect(page).to_have_url(re.compile(r"/login\?next=/runs$"))
    finally:
        context.close()
