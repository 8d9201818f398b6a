"""The job form's errors in a real browser: every bad field marked at once, one coherent
message per field (the live JSON hint never contradicts the server), JSON errors that say
where, and secret names refused with the rule in words."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from domain.values import SECRET_NAME_RULE
from tests.browser.conftest import Server
from tests.browser.test_pages import api_job, sign_in

expect.set_options(timeout=20_000)

RULE = SECRET_NAME_RULE[:1].upper() + SECRET_NAME_RULE[1:] + "."


def _jobs_named(server: Server, name: str) -> list[Any]:
    with server.api() as api:
        items: list[Any] = api.get("/api/jobs", params={"name_prefix": name}).json()["items"]
        return items


def test_every_bad_field_of_a_new_job_is_marked_at_once(browser: Any, server: Server) -> None:
    # Without scripts the browser sends whatever was typed: the server alone judges it.
    context = browser.new_context(base_url=server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, server.admin_token)
        page.goto("/jobs/new")
        page.get_by_label("Name", exact=True).fill("Four faults")
        page.get_by_label("Program (JSON)").fill('{"argv": []}')
        page.get_by_label("CRON expression").fill("61 * * * *")
        page.get_by_label("Time zone").fill("Mars/Olympus_Mons")
        page.get_by_label("Parameters (JSON object)").fill(
            '{\n  "tenant": "acme",\n  region: "eu"\n}'
        )
        page.get_by_role("button", name="Create job").click()
        expect(page.locator(".form-error")).to_contain_text("Nothing was saved")
        expect(page.locator("#cron-error")).to_contain_text("61")
        expect(page.locator("#timezone-error")).to_contain_text("Mars/Olympus_Mons")
        expect(page.locator("#program-error")).to_contain_text("program.argv: ")
        expect(page.locator("#parameters-error")).to_have_text(
            "parameters: not valid JSON at line 3, column 3: "
            "expected a property name in double quotes"
        )
        for field in ("cron", "timezone", "program", "parameters"):
            expect(page.locator(f"#{field}")).to_have_attribute("aria-invalid", "true")
        # What was typed is kept, to be corrected.
        expect(page.get_by_label("Time zone")).to_have_value("Mars/Olympus_Mons")
    finally:
        context.close()
    assert _jobs_named(server, "Four faults") == []


def _program_status(page: Page) -> Any:
    return page.locator("#program").locator("xpath=..").locator(".json-status")


def test_a_refused_program_has_one_message_never_a_claim_that_it_is_valid(
    context: Any, server: Server
) -> None:
    page = context.new_page()
    sign_in(page, server.admin_token)
    page.goto("/jobs/new")
    page.get_by_label("Name", exact=True).fill("One message")
    program = page.get_by_label("Program (JSON)")
    program.fill('{"argv": []}')  # JSON, but the command type's schema refuses it
    expect(_program_status(page)).to_have_text("Well-formed JSON object.")
    page.get_by_role("button", name="Create job").click()

    # Back from the server: its error is the one message; the live hint says nothing.
    error = page.locator("#program-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("program.argv: ")
    expect(_program_status(page)).to_have_text("")
    expect(program).to_have_attribute("aria-invalid", "true")
    expect(program).to_have_attribute("aria-describedby", "program-error")
    expect(page.get_by_text(re.compile("valid JSON object", re.IGNORECASE))).to_have_count(0)

    # Once the text changes, the server's error no longer describes it: the hint takes over.
    program.fill('{"argv": ["true"]')
    expect(error).to_be_hidden()
    expect(_program_status(page)).to_contain_text("program: not valid JSON at line 1")
    program.fill('{"argv": []}')  # the text the server refused: its error again
    expect(error).to_be_visible()
    expect(_program_status(page)).to_have_text("")
    program.fill('{"argv": ["true"]}')
    expect(error).to_be_hidden()
    expect(_program_status(page)).to_have_text("Well-formed JSON object.")
    expect(program).to_have_attribute("aria-invalid", "false")
    page.get_by_role("button", name="Create job").click()
    expect(page.get_by_role("status")).to_have_text("Job created.")


def test_a_json_editor_says_where_the_json_breaks_before_sending(
    context: Any, server: Server
) -> None:
    page = context.new_page()
    sign_in(page, server.admin_token)
    page.goto("/jobs/new")
    parameters = page.get_by_label("Parameters (JSON object)")
    parameters.fill('{\n  "tenant": "acme",\n  region: "eu"\n}')
    status = parameters.locator("xpath=..").locator(".json-status")
    expect(status).to_contain_text("parameters: not valid JSON at line 3, column 3")
    page.get_by_role("button", name="Create job").click()
    expect(page).to_have_url(re.compile(r"/jobs/new$"))  # not sent


def test_a_bad_secret_name_is_refused_with_the_rule_in_words(context: Any, server: Server) -> None:
    job = api_job(server, "Secret names")
    page = context.new_page()
    sign_in(page, server.admin_token)

    # The browser's own check says the rule, as the server does.
    page.goto("/jobs/new")
    row = page.locator("#secret_name_1")
    expect(row).to_have_attribute("title", RULE)
    row.fill("my-key")
    assert row.evaluate("el => el.validationMessage") == RULE
    row.fill("MY_KEY")
    assert row.evaluate("el => el.validationMessage") == ""

    page.goto(f"/jobs/{job['id']}")
    name = page.get_by_label("Secret name")
    name.fill("api-key")
    page.locator("#secret_value").fill("v")
    page.get_by_role("button", name="Set secret").click()
    assert name.evaluate("el => el.validationMessage") == RULE
    expect(page).to_have_url(re.compile(rf"/jobs/{job['id']}$"))  # not sent

    # A client that skips the browser's check hears the same rule from the server.
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert csrf
    refused = page.request.post(
        f"/jobs/{job['id']}/secrets",
        form={"csrf_token": csrf, "name": "api-key", "value": "v"},
        max_redirects=0,
    )
    assert refused.status == 422
    page.set_content(refused.text())
    expect(page.locator("#secret-name-error")).to_have_text(
        f"'api-key' has '-' at position 4; {SECRET_NAME_RULE}"
    )
    with server.api() as api:
        assert api.get(f"/api/jobs/{job['id']}").json()["secrets"] == []
