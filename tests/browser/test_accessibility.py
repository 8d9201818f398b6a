"""Every page checked by axe-core (frontend/node_modules/axe-core, from the npm registry at
the version frontend/package-lock.json pins; .ci/run installs it): no violation of impact
serious or critical, with the page's scripts (the code editor, the CRON builder) running.

axe is injected into each page; the pages' CSP (script-src 'self') would refuse an injected
script, so this test's browser context alone bypasses CSP. Other tests keep it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server
from tests.browser.test_pages import sign_in
from tests.browser.test_run_page import run_now, wait_for_run

expect.set_options(timeout=20_000)

AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe's violations of impact serious or critical on the page as it stands."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await axe.run(document)).violations")
    return [v for v in result if v.get("impact") in BLOCKING]


def described(violations: list[dict[str, Any]]) -> str:
    return json.dumps(
        [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [n["target"] for n in v["nodes"]][:5],
                "summary": v["nodes"][0].get("failureSummary", "") if v["nodes"] else "",
            }
            for v in violations
        ],
        indent=1,
    )


@pytest.fixture(scope="module")
def site(server: Server) -> dict[str, str]:
    """One of each thing a page shows: a job with history, a finished run, a channel."""
    if not AXE.exists():
        pytest.fail(
            f"{AXE} is missing: run `npm ci --prefix frontend` (.ci/run does)", pytrace=False
        )
    with server.api() as api:
        made = api.post(
            "/api/jobs",
            json={
                "name": "Accessible job",
                "job_type": "powershell",
                "program": {"script": "Write-Output 1\n"},
                "schedule": {"cron": "0 6 * * 1-5", "timezone": "Europe/London"},
            },
        )
        assert made.status_code == 201, made.text
        powershell = made.json()["id"]
        changed = api.patch(
            f"/api/jobs/{powershell}",
            json={"program": {"script": "Write-Output 1\nWrite-Output 2\n"}},
        )
        assert changed.status_code in (200, 202), changed.text
        command = api.post(
            "/api/jobs",
            json={"name": "Accessible run", "job_type": "command", "program": {"argv": ["true"]}},
        )
        assert command.status_code == 201, command.text
        channel = api.post(
            "/api/notification-channels",
            json={
                "name": "a11y hooks",
                "type": "webhook",
                "config": {"url": "https://example.com/h"},
            },
        )
        assert channel.status_code == 201, channel.text
    job_id = command.json()["id"]
    run_id = run_now(server, job_id)
    wait_for_run(server, run_id, lambda run: run["status"] == "succeeded")
    return {"powershell": powershell, "command": job_id, "run": run_id}


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url, bypass_csp=True)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def check(page: Page, path: str) -> None:
    page.goto(path)
    violations = axe_violations(page)
    assert violations == [], f"{path}:\n{described(violations)}"


def test_the_sign_in_page(page: Page) -> None:
    check(page, "/login")


PAGES = [
    "/",
    "/jobs",
    "/jobs/new",
    "/jobs/{powershell}",
    "/jobs/{command}",
    "/jobs/{powershell}/history",
    "/jobs/{powershell}/at?version=1",
    "/runs",
    "/runs/{run}",
    "/audit",
    "/notifications",
    "/docs",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_when_signed_in(
    page: Page, server: Server, site: dict[str, str], path: str
) -> None:
    sign_in(page, server.admin_token)
    check(page, path.format(**site))


def test_the_pages_after_a_form_is_refused_and_a_trigger_is_made(
    page: Page, server: Server, site: dict[str, str]
) -> None:
    sign_in(page, server.admin_token)
    # A refused form: field errors, aria-invalid, the editor's mirrored state.
    page.goto("/jobs/new")
    page.get_by_label("Name", exact=True).fill("Refused for a11y")
    page.get_by_label("CRON expression").fill("61 * * * *")
    page.get_by_role("button", name="Create job").click()
    expect(page.locator("#cron-error")).to_be_visible()
    violations = axe_violations(page)
    assert violations == [], f"refused new job:\n{described(violations)}"
    # A trigger just created (its URL and secret shown once).
    page.goto(f"/jobs/{site['command']}")
    page.get_by_label("Trigger name").fill("a11y")
    page.get_by_role("button", name="Create trigger").click()
    expect(page).to_have_url(re.compile(r"/triggers"))
    violations = axe_violations(page)
    assert violations == [], f"trigger created:\n{described(violations)}"


def test_a_viewers_read_only_job_page(page: Page, server: Server, site: dict[str, str]) -> None:
    """The read-only form: disabled fields, a read-only code editor, no CRON builder."""
    sign_in(page, server.token("viewer", "a11y viewer"))
    check(page, f"/jobs/{site['powershell']}")
    expect(page.locator(".code-editor .cm-content[contenteditable=false]")).to_have_count(2)


def test_the_bulk_confirmation_and_summary_pages(page: Page, server: Server) -> None:
    """Choosing jobs on the list, the one confirmation page, and the summary after it."""
    sign_in(page, server.admin_token)
    page.goto("/jobs")
    page.get_by_label("Choose every job on this page").check()
    page.locator("#bulk-jobs").get_by_role("button", name="Enable").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Enable \d+ jobs?\?$"))).to_be_visible()
    violations = axe_violations(page)
    assert violations == [], f"bulk confirmation:\n{described(violations)}"
    page.get_by_role("button", name=re.compile(r"^Enable \d+ jobs?$")).click()
    expect(page.locator("#bulk-summary")).to_be_visible()
    violations = axe_violations(page)
    assert violations == [], f"bulk summary:\n{described(violations)}"
