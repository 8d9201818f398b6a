"""The pages on a phone and across time zones, in a real browser: at 390 px nothing is wider
than the screen and the header spans it; every time is shown in one format, in the
reader's zone (a job's zone for its fire times), with the UTC instant on hover, and in UTC
for whoever asks for it (or has no JavaScript); /docs is one of the pages."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server
from tests.browser.test_pages import api_job, sign_in

expect.set_options(timeout=20_000)

PHONE = {"width": 390, "height": 844}
LONG_NAME = "Nightly-invoice-synchronisation-for-tenant-acme-international-" + "x" * 40
FORMAT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z][A-Za-z0-9+:-]+$")
UTC_FORMAT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")

WIDTHS = """() => ({
  page: document.documentElement.scrollWidth,
  viewport: window.innerWidth,
  header: document.querySelector('header.top').getBoundingClientRect().width,
})"""


def assert_fits(page: Page, path: str) -> None:
    widths = page.evaluate(WIDTHS)
    assert widths["viewport"] == 390, widths
    assert widths["page"] <= 390, f"{path} is {widths['page']} px wide at 390 px"
    assert widths["header"] == widths["viewport"], f"{path}: the header is {widths['header']} px"


def test_every_page_fits_a_390_px_screen(browser: Any, server: Server) -> None:
    long_log = {"argv": ["python3", "-c", "print('INFO: ' + 'y' * 400); print('a b ' * 200)"]}
    job = api_job(
        server,
        LONG_NAME,
        program=long_log,
        description="z" * 300,
        schedule={"cron": "*/5 * * * *", "timezone": "Asia/Kolkata"},
        parameters={"a_rather_long_parameter_name": "and-an-even-longer-value-" * 5},
    )
    with server.api() as api:
        api.put(f"/api/jobs/{job['id']}/secrets/A_SECRET_WITH_A_LONG_NAME", json={"value": "v"})
        api.patch(f"/api/jobs/{job['id']}", json={"log_level": "Verbose", "max_retries": 2})
    with server.api() as api:
        run_id = api.post(f"/api/jobs/{job['id']}/runs", json={}).json()["run_id"]
    context = browser.new_context(base_url=server.url, viewport=PHONE)
    try:
        page = context.new_page()
        page.goto("/login")
        assert_fits(page, "/login")
        sign_in(page, server.admin_token)
        page.goto(f"/runs/{run_id}")  # its long log lines are on the page once it has ended
        expect(page.locator("#run-status")).to_contain_text("succeeded")
        for path in (
            "/",
            "/jobs",
            f"/jobs/{job['id']}",
            "/jobs/new",
            "/runs",
            f"/runs/{run_id}",
            f"/jobs/{job['id']}/history",
            f"/jobs/{job['id']}/at?version=1",
            "/audit",
            "/docs",
        ):
            page.goto(path)
            expect(page.locator("header.top")).to_be_visible()
            assert_fits(page, path)
            # The header's links wrap onto the screen, the API reference among them.
            api_link = page.locator("header.top").get_by_role("link", name="API", exact=True)
            box = api_link.bounding_box()
            assert box is not None and box["x"] + box["width"] <= 390, path
        # A wide table scrolls inside its own box instead of widening the page.
        page.goto("/runs")
        scroller = page.locator(".table-scroll", has=page.locator("#runs-table"))
        assert scroller.evaluate("(box) => box.scrollWidth > box.clientWidth")
        assert scroller.evaluate("(box) => getComputedStyle(box).overflowX") == "auto"
    finally:
        context.close()


def shown_in(zone: str, iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S %Z")


def utc_text(iso: str) -> str:
    return shown_in("UTC", iso)


def test_times_are_in_the_readers_zone_with_utc_on_hover_and_a_utc_switch(
    browser: Any, server: Server
) -> None:
    job = api_job(
        server, "Zones check", schedule={"cron": "0 2 * * *", "timezone": "Europe/London"}
    )
    context = browser.new_context(base_url=server.url, timezone_id="America/New_York")
    try:
        page = context.new_page()
        sign_in(page, server.admin_token)
        page.goto(f"/jobs/{job['id']}")
        # An instant (when the job changed): New York time, the UTC instant on hover.
        changed = page.locator("p.meta time").first
        iso = changed.get_attribute("datetime")
        assert iso is not None
        expect(changed).to_have_text(shown_in("America/New_York", iso))
        expect(changed).to_have_text(re.compile(r" E[SD]T$"))
        expect(changed).to_have_attribute("title", utc_text(iso))
        # The schedule's fire times: in the job's zone (London), not the reader's.
        fires = page.locator("#schedule-preview ol.fire-times time")
        expect(fires).to_have_count(10)
        first = fires.first
        first_iso = first.get_attribute("datetime")
        assert first_iso is not None
        expect(first).to_have_text(shown_in("Europe/London", first_iso))
        expect(first).to_have_text(re.compile(r" 02:00:00 (GMT|BST)$"))
        expect(first).to_have_attribute("title", utc_text(first_iso))
        # One format for every time on the page.
        texts = page.locator("main time").all_inner_texts()
        assert texts and all(FORMAT.match(text) for text in texts), texts

        # "Times in UTC": every time in UTC, remembered on the next page.
        switch = page.get_by_label("Times in UTC")
        switch.check()
        expect(changed).to_have_text(utc_text(iso))
        expect(first).to_have_text(utc_text(first_iso))
        page.goto("/")
        page.goto(f"/jobs/{job['id']}")
        expect(page.get_by_label("Times in UTC")).to_be_checked()
        expect(page.locator("p.meta time").first).to_have_text(utc_text(iso))
        texts = page.locator("main time").all_inner_texts()
        assert all(UTC_FORMAT.match(text) for text in texts), texts
        page.get_by_label("Times in UTC").uncheck()
        expect(page.locator("p.meta time").first).to_have_text(shown_in("America/New_York", iso))

        # Typing a schedule: the fresh preview is in the zone typed, too.
        page.get_by_label("Time zone").fill("Asia/Tokyo")
        expect(page.locator("#schedule-preview")).to_contain_text("Asia/Tokyo")
        tokyo = page.locator("#schedule-preview ol.fire-times time").first
        expect(tokyo).to_have_text(re.compile(r" 02:00:00 (JST|GMT\+9|UTC\+09:00)$"))
        expect(tokyo).to_have_attribute("title", UTC_FORMAT)

        # A run's page: its timings and each log entry's time, in the reader's zone too.
        talker = api_job(
            server, "Zones log check", program={"argv": ["python3", "-c", "print('INFO: hi')"]}
        )
        with server.api() as api:
            run_id = api.post(f"/api/jobs/{talker['id']}/runs", json={}).json()["run_id"]
        page.goto(f"/runs/{run_id}")
        expect(page.locator("#run-status")).to_contain_text("succeeded")
        logged = page.locator("#log tbody tr", has_text="hi").locator("time")
        logged_iso = logged.get_attribute("datetime")
        assert logged_iso is not None
        expect(logged).to_have_text(shown_in("America/New_York", logged_iso))
        expect(logged).to_have_attribute("title", utc_text(logged_iso))
        started = page.locator('[data-field="started_at"] time')
        started_iso = started.get_attribute("datetime")
        assert started_iso is not None
        expect(started).to_have_text(shown_in("America/New_York", started_iso))
    finally:
        context.close()


def test_without_javascript_times_are_utc_in_the_same_format(browser: Any, server: Server) -> None:
    job = api_job(server, "No script check")
    context = browser.new_context(
        base_url=server.url, timezone_id="America/New_York", java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Token").fill(server.admin_token)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"/jobs/{job['id']}/history")
        times = page.locator("main time")
        expect(times.first).to_have_text(UTC_FORMAT)
        assert all(UTC_FORMAT.match(text) for text in times.all_inner_texts())
        expect(page.get_by_label("Times in UTC")).to_be_hidden()  # it would do nothing
    finally:
        context.close()


def test_the_api_reference_is_a_page_like_the_others(browser: Any, server: Server) -> None:
    context = browser.new_context(base_url=server.url)
    try:
        page = context.new_page()
        hosts: list[str] = []
        page.on("request", lambda request: hosts.append(request.url))
        sign_in(page, server.admin_token)
        page.locator("header.top").get_by_role("link", name="API", exact=True).click()
        expect(page).to_have_url(re.compile(r"/docs$"))
        expect(page.get_by_role("heading", name=re.compile("JobLedger API"))).to_be_visible()
        expect(page.locator("article.op", has_text="/api/jobs/{job_id}")).not_to_have_count(0)
        # Styled by the pages' own style sheet: the same header colour and fonts.
        styles = page.evaluate(
            """() => [getComputedStyle(document.querySelector('header.top')).backgroundColor,
                      getComputedStyle(document.body).fontFamily]"""
        )
        page.goto("/")
        same = page.evaluate(
            """() => [getComputedStyle(document.querySelector('header.top')).backgroundColor,
                      getComputedStyle(document.body).fontFamily]"""
        )
        assert styles == same and "system-ui" in styles[1]
        assert all(url.startswith(server.url) for url in hosts), hosts
    finally:
        context.close()
