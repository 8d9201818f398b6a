"""The CRON builder beside the expression (static/cron_builder.js), in a real browser: the
builder writes the expression, the description and next fire times follow, and typing an
expression sets the builder wherever it can say it."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server
from tests.browser.test_pages import sign_in

expect.set_options(timeout=20_000)


def open_new_job(context: Any, server: Server) -> Page:
    page = context.new_page()
    sign_in(page, server.admin_token)
    page.goto("/jobs/new")
    return page


def test_the_builder_writes_the_expression_and_the_preview_follows(
    context: Any, server: Server
) -> None:
    page = open_new_job(context, server)
    cron = page.get_by_label("CRON expression")
    kind = page.get_by_label("Repeat")
    preview = page.locator("#schedule-preview")
    expect(kind).to_have_value("none")  # a new job has no schedule

    kind.select_option("minutes")
    page.get_by_label("Every (minutes)").fill("10")
    expect(cron).to_have_value("*/10 * * * *")
    expect(preview).to_contain_text("Runs every 10 minutes (UTC)")
    expect(preview.locator("li")).to_have_count(10)

    kind.select_option("hourly")
    page.get_by_label("Minute past the hour").fill("5")
    expect(cron).to_have_value("5 * * * *")
    expect(preview).to_contain_text("at minute 5 past every hour")

    kind.select_option("daily")
    page.get_by_label("At (hh:mm").fill("07:30")
    expect(cron).to_have_value("30 7 * * *")
    expect(preview).to_contain_text("Runs at 07:30")

    kind.select_option("weekly")
    weekdays = page.locator("fieldset.weekdays")
    weekdays.get_by_label("Mon").uncheck()
    weekdays.get_by_label("Wed").check()
    weekdays.get_by_label("Fri").check()
    expect(cron).to_have_value("30 7 * * 3,5")
    expect(preview).to_contain_text("on Wednesday and Friday")
    expect(page.get_by_label("Every (minutes)")).to_be_hidden()  # only the kind's inputs

    kind.select_option("monthly")
    page.get_by_label("Day of the month").select_option("14")
    expect(cron).to_have_value("30 7 14 * *")
    expect(preview).to_contain_text("on day 14 of the month")
    page.get_by_label("Day of the month").select_option("LW")
    expect(cron).to_have_value("30 7 LW * *")
    expect(preview).to_contain_text("on the last weekday of the month")
    first = preview.locator("li time").first.get_attribute("datetime") or ""
    assert re.match(r"\d{4}-\d{2}-\d{2}T07:30", first), first

    # What the builder wrote is what is saved.
    page.get_by_label("Name", exact=True).fill("Built schedule")
    page.get_by_role("button", name="Create job").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}\?"))
    job_id = page.url.split("/jobs/")[1].split("?")[0]
    with server.api() as api:
        assert api.get(f"/api/jobs/{job_id}").json()["schedule"]["cron"] == "30 7 LW * *"
    # The job page's builder reads the saved expression back.
    expect(page.get_by_label("Repeat")).to_have_value("monthly")
    expect(page.get_by_label("Day of the month")).to_have_value("LW")
    expect(page.get_by_label("At (hh:mm")).to_have_value("07:30")


def test_typing_an_expression_sets_the_builder_where_it_can(context: Any, server: Server) -> None:
    page = open_new_job(context, server)
    cron = page.get_by_label("CRON expression")
    kind = page.get_by_label("Repeat")
    cron.fill("*/20 * * * *")
    expect(kind).to_have_value("minutes")
    expect(page.get_by_label("Every (minutes)")).to_have_value("20")
    cron.fill("45 * * * *")
    expect(kind).to_have_value("hourly")
    expect(page.get_by_label("Minute past the hour")).to_have_value("45")
    cron.fill("0 6 * * *")
    expect(kind).to_have_value("daily")
    expect(page.get_by_label("At (hh:mm")).to_have_value("06:00")
    cron.fill("15 18 * * mon-fri")
    expect(kind).to_have_value("weekly")
    weekdays = page.locator("fieldset.weekdays")
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri"):
        expect(weekdays.get_by_label(day)).to_be_checked()
    for day in ("Sat", "Sun"):
        expect(weekdays.get_by_label(day)).not_to_be_checked()
    expect(page.get_by_label("At (hh:mm")).to_have_value("18:15")
    cron.fill("0 3 L * *")
    expect(kind).to_have_value("monthly")
    expect(page.get_by_label("Day of the month")).to_have_value("L")
    # Beyond the builder: it says so and leaves the expression alone.
    cron.fill("0 6 1 */2 *")
    expect(kind).to_have_value("custom")
    expect(page.locator("#schedule-preview")).to_contain_text("Runs")
    expect(cron).to_have_value("0 6 1 */2 *")
    # Back in the builder: changing a setting of the chosen kind rewrites the expression.
    cron.fill("0 6 * * *")
    page.get_by_label("At (hh:mm").fill("06:45")
    expect(cron).to_have_value("45 6 * * *")
    cron.fill("")
    expect(kind).to_have_value("none")
    expect(page.locator("#schedule-preview")).to_contain_text("No schedule")
