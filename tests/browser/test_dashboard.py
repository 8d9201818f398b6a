"""The dashboard in a real browser against a real `jobledger serve`: it follows runs as they
start and end without a reload, ticks their elapsed time, lists a timeout with the end of its
error, cancels a run for an operator, and reads as a whole without JavaScript."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from uuid import uuid4

from playwright.sync_api import expect

from tests.browser.conftest import Server
from tests.browser.test_pages import api_job, sign_in
from tests.browser.test_run_page import GATED, run_now, wait_for_run

# Runs past its one-second timeout. A timeout, not a failure: the browser server is shared,
# and another test expects no failed run in it.
SLOW = {"argv": ["python3", "-c", "import time\ntime.sleep(60)\n"]}


def test_the_dashboard_follows_a_run_from_start_to_end_without_a_reload(
    context: Any, server: Server
) -> None:
    gate = Path(f"/tmp/jobledger-gate-{uuid4()}")
    name = f"Dashboard watch {uuid4().hex[:8]}"
    job = api_job(server, name, program=GATED, log_level="Error", parameters={"gate": "/none"})
    slow = api_job(server, f"Dashboard timeout {uuid4().hex[:8]}", program=SLOW, timeout_seconds=1)
    runs: list[str] = []
    try:
        page = context.new_page()
        sign_in(page, server.admin_token)
        page.goto("/")
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
        live = page.locator("#dashboard-live")
        page.evaluate("window.__notReloaded = true")
        # The stream has answered once: later changes arrive by it, not by a reload.
        expect(live).to_have_attribute("data-updates", re.compile(r"^[1-9]"))

        run_id = run_now(server, job["id"], gate=str(gate))
        runs.append(run_id)
        row = page.locator(f'#running tr[data-run="{run_id}"]')
        expect(row).to_be_visible()
        expect(row).to_contain_text(name)
        expect(row.get_by_role("button", name=f"Cancel the run of {name}")).to_be_visible()
        elapsed = row.locator(".elapsed")
        expect(elapsed).to_have_text(re.compile(r"^\d+ s$"))
        shown = elapsed.inner_text()
        expect(elapsed).not_to_have_text(shown)  # it ticks in the browser

        gate.touch()  # the run ends
        expect(row).to_have_count(0)
        wait_for_run(server, run_id, lambda run: run["status"] == "succeeded")

        timed_out_id = run_now(server, slow["id"])
        runs.append(timed_out_id)
        failure = page.locator(f'#failures li[data-run="{timed_out_id}"]')
        expect(failure).to_be_visible()
        expect(failure).to_contain_text("timed out")
        expect(failure.locator(".error-tail")).to_have_text("timed out after 1 s")
        # The hour's bar says what ran in it.
        expect(page.locator("#svg-day g.bar").last.locator("title")).to_contain_text("timed out")
        assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
    finally:
        gate.touch()
        for ident in runs:
            wait_for_run(server, ident, lambda run: run["status"] not in ("queued", "running"))
        gate.unlink(missing_ok=True)


def test_an_operator_cancels_a_running_run_from_the_dashboard(context: Any, server: Server) -> None:
    gate = Path(f"/tmp/jobledger-gate-{uuid4()}")
    name = f"Dashboard cancel {uuid4().hex[:8]}"
    job = api_job(server, name, program=GATED, parameters={"gate": "/none"})
    run_id = run_now(server, job["id"], gate=str(gate))
    try:
        wait_for_run(server, run_id, lambda run: run["status"] == "running")
        page = context.new_page()
        sign_in(page, server.token("operator", f"olga-{uuid4().hex[:6]}"))
        page.goto("/")
        row = page.locator(f'#running tr[data-run="{run_id}"]')
        page.once("dialog", lambda dialog: dialog.accept())
        row.get_by_role("button", name=f"Cancel the run of {name}").click()
        expect(page).to_have_url(re.compile(r"/\?notice=cancel-requested$"))
        expect(page.locator(".notice")).to_have_text("Cancellation requested.")
        ended = wait_for_run(server, run_id, lambda run: run["status"] != "running")
        assert ended["status"] == "cancelled"
        expect(row).to_have_count(0)
    finally:
        gate.touch()
        wait_for_run(server, run_id, lambda run: run["status"] not in ("queued", "running"))
        gate.unlink(missing_ok=True)


def test_the_dashboard_reads_without_javascript(browser: Any, server: Server) -> None:
    context = browser.new_context(base_url=server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Token").fill(server.admin_token)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
        for heading in (
            "Running now",
            "Failures and timeouts",
            "Due in the next hour",
            "Missed slots",
            "Job types no worker can run",
            "Runs per hour",
        ):
            expect(page.get_by_role("heading", name=re.compile(heading))).to_be_visible()
        chart = page.get_by_role("img", name="Runs per hour, last 24 hours, by status")
        expect(chart).to_be_visible()
        expect(page.locator("#svg-day g.bar")).to_have_count(24)
        page.locator("#chart-day summary").click()
        expect(page.locator("#table-day")).to_be_visible()
    finally:
        context.close()
