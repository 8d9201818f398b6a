"""Typed parameters in a real browser against a real `jobledger serve`: the Run now form
generated from a job's parameters schema (select, checkbox, number), a refused number shown
beside its field, the run started with the chosen values; and the job form's schema field."""

from __future__ import annotations

import json
import re
from typing import Any
from uuid import uuid4

from playwright.sync_api import expect

from tests.browser.conftest import Server
from tests.browser.test_pages import api_job, assert_labelled, sign_in

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "batch_size": {
            "type": "integer",
            "title": "Batch size",
            "minimum": 1,
            "maximum": 1000,
            "default": 100,
            "description": "Rows written per transaction.",
        },
        "mode": {"type": "string", "enum": ["full", "delta"], "default": "delta"},
        "dry_run": {"type": "boolean", "default": False, "title": "Dry run"},
        "region": {"type": "string", "default": "eu-west"},
    },
}


def test_run_now_is_a_form_made_from_the_schema_and_runs_with_the_chosen_values(
    context: Any, server: Server
) -> None:
    job = api_job(
        server,
        f"Typed import {uuid4().hex[:8]}",
        parameters={"batch_size": 50},
        parameters_schema=SCHEMA,
        overridable_parameters=["batch_size", "mode", "dry_run"],
    )
    operator = server.token("operator", f"typed-{uuid4().hex[:6]}")
    page = context.new_page()
    sign_in(page, operator)
    page.goto(f"/jobs/{job['id']}")
    form = page.locator("#run-form")
    assert_labelled(page)

    # One input per parameter, by type, prefilled with what a run gets without overrides.
    size = form.get_by_label("Batch size")
    expect(size).to_have_attribute("type", "number")
    expect(size).to_have_value("50")  # the job's own value over the schema's default
    expect(size).to_have_attribute("min", "1")
    expect(size).to_have_attribute("max", "1000")
    expect(form.locator("#run-param-batch_size-hint")).to_have_text("Rows written per transaction.")
    mode = form.get_by_label("mode")
    assert mode.evaluate("el => el.tagName") == "SELECT"
    expect(mode).to_have_value("delta")
    expect(mode.locator("option")).to_have_text(["full", "delta"])
    dry_run = form.get_by_label("Dry run")
    expect(dry_run).to_have_attribute("type", "checkbox")
    expect(dry_run).not_to_be_checked()
    # Not open to operators: shown, not editable.
    region = form.get_by_label("region")
    expect(region).to_have_value("eu-west")
    expect(region).to_be_disabled()
    expect(form.locator('[data-parameter="region"] .hint')).to_contain_text("Set by the job")
    expect(page.locator("#run_parameters")).to_have_count(0)  # no free JSON editor

    # The browser refuses a number above the maximum before sending it...
    size.fill("5000")
    mode.select_option("full")
    dry_run.check()
    form.get_by_role("button", name="Run now").click()
    assert size.evaluate("el => el.validationMessage") != ""
    expect(page).to_have_url(re.compile(rf"/jobs/{job['id']}$"))
    # ...and where a browser does not, the server does, beside the field, keeping the choices.
    size.evaluate("el => el.removeAttribute('max')")
    form.get_by_role("button", name="Run now").click()
    error = page.locator("#run-param-batch_size-error")
    expect(error).to_have_text("must be at most 1000")
    expect(page.get_by_label("Batch size")).to_have_value("5000")
    expect(page.get_by_label("Batch size")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("mode")).to_have_value("full")
    expect(page.get_by_label("Dry run")).to_be_checked()

    page.get_by_label("Batch size").fill("250")
    page.locator("#run-form").get_by_role("button", name="Run now").click()
    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]+"))
    page.locator("#run-parameters summary").click()
    shown = page.locator("#run-parameters")
    expect(shown.locator('[data-key="batch_size"]')).to_contain_text("250")
    expect(shown.locator('[data-key="batch_size"]')).to_have_class("overridden")
    expect(shown.locator('[data-key="mode"]')).to_contain_text('"full"')
    expect(shown.locator('[data-key="dry_run"]')).to_contain_text("true")
    expect(shown.locator('[data-key="region"]')).to_contain_text('"eu-west"')
    expect(shown.locator('[data-key="region"]')).not_to_have_class("overridden")


def test_an_administrator_gives_a_job_a_schema_and_run_now_becomes_a_form(
    context: Any, server: Server
) -> None:
    job = api_job(server, f"Free import {uuid4().hex[:8]}", parameters={"size": 3})
    page = context.new_page()
    sign_in(page, server.admin_token)
    page.goto(f"/jobs/{job['id']}")
    expect(page.locator("#run_parameters")).to_be_visible()  # the free JSON editor

    field = page.get_by_label("Parameters schema (JSON Schema, optional)")
    field.fill(json.dumps({"type": "object", "properties": {"size": {"type": "array"}}}))
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#parameters_schema-error")).to_contain_text(
        "parameters_schema.properties.size.type"
    )
    expect(field).to_have_attribute("aria-invalid", "true")

    schema = {"type": "object", "properties": {"size": {"type": "integer", "maximum": 2}}}
    field.fill(json.dumps(schema))
    page.get_by_role("button", name="Save changes").click()
    # The job's parameters must satisfy the new schema: named beside the parameters.
    expect(page.locator("#parameters-error")).to_contain_text("parameters.size")

    page.get_by_label("Parameters (JSON object)").fill('{"size": 2}')
    page.get_by_role("button", name="Save changes").click()
    expect(page).to_have_url(re.compile(r"notice=saved"))
    expect(page.locator("#run-form").get_by_label("size")).to_have_value("2")
    expect(page.locator("#run_parameters")).to_have_count(0)
