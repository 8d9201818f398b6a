"""A PowerShell job on a machine without pwsh, in a real browser against a real `jobledger
serve`: the jobs list and the job page warn that no worker can run it, and its run waits
queued with the reason on its page instead of failing."""

from __future__ import annotations

import re
import shutil
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server
from tests.browser.test_pages import sign_in

expect.set_options(timeout=20_000)


@pytest.mark.skipif(
    shutil.which("pwsh") is not None, reason="pwsh is on PATH: powershell jobs can run here"
)
def test_a_powershell_job_without_pwsh_is_flagged_and_its_run_waits_with_the_reason(
    context: Any, server: Server
) -> None:
    with server.api() as api:
        made = api.post(
            "/api/jobs",
            json={
                "name": "PowerShell without pwsh",
                "job_type": "powershell",
                "program": {"script": "Write-Host hi"},
            },
        )
        assert made.status_code == 201, made.text
        plain = api.post(
            "/api/jobs",
            json={"name": "Plain command", "job_type": "command", "program": {"argv": ["true"]}},
        )
        assert plain.status_code == 201, plain.text
        types = {t["name"]: t for t in api.get("/api/job-types").json()["items"]}
        reason = types["powershell"]["reason"]
        assert types["powershell"]["available"] is False
        assert reason.startswith("no worker can run powershell jobs: pwsh not found on PATH")
    page = context.new_page()
    sign_in(page, server.admin_token)

    row = page.get_by_role("row").filter(has_text="PowerShell without pwsh")
    badge = row.locator("[data-unrunnable]")
    expect(badge).to_have_text("no worker can run it")
    expect(badge).to_have_attribute("title", reason)
    # A command job on the same list carries no warning.
    plain_row = page.get_by_role("row").filter(has_text="Plain command")
    expect(plain_row).to_be_visible()
    expect(plain_row.locator("[data-unrunnable]")).to_have_count(0)

    row.get_by_role("link", name="PowerShell without pwsh").click()
    expect(page.locator("#job-type-warning")).to_contain_text(reason)
    page.get_by_role("button", name="Run now").click()
    expect(page).to_have_url(re.compile(r"/runs/"))
    expect(page.locator("#run-status")).to_have_attribute("data-status", "queued")
    expect(page.locator('[data-field="waiting_reason"]')).to_have_text(reason)
    run_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    with server.api() as api:
        shown = api.get(f"/api/runs/{run_id}").json()
        assert shown["status"] == "queued" and shown["waiting_reason"] == reason
        # Leave the session's server with no run waiting for an hour.
        assert api.post(f"/api/runs/{run_id}/cancel").status_code == 202
