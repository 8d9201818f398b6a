"""The job page's history at a glance, read with JavaScript off, and the light and dark
themes: both follow the system setting and keep every text at WCAG AA contrast."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from interfaces.web.svg_history import seconds_text
from projections.run_stats import window_stats
from tests.browser.conftest import Server
from tests.browser.test_pages import api_job, sign_in
from tests.browser.test_run_page import run_now, wait_for_run

# Sleeps as long as its run's `seconds` parameter says, then exits with its `code`.
TIMED = {
    "argv": [
        "python3",
        "-c",
        "import json, os, sys, time\n"
        "p = json.loads(os.environ['JOBLEDGER_PARAMETERS'])\n"
        "time.sleep(p['seconds'])\n"
        "sys.exit(p['code'])\n",
    ]
}


def finished_run(server: Server, job_id: str, seconds: float, code: int) -> dict[str, Any]:
    run_id = run_now(server, job_id, seconds=seconds, code=code)
    run = wait_for_run(server, run_id, lambda r: r["finished_at"] is not None, timeout=60)
    return {
        **run,
        "started_at": datetime.fromisoformat(run["started_at"]),
        "finished_at": datetime.fromisoformat(run["finished_at"]),
    }


def test_the_glance_shows_bars_linking_to_runs_and_the_figures_without_javascript(
    browser: Any, server: Server
) -> None:
    job = api_job(server, "Glance", program=TIMED, parameters={"seconds": 0, "code": 0})
    runs = [
        finished_run(server, job["id"], 0.1, 0),
        finished_run(server, job["id"], 1.5, 0),
        finished_run(server, job["id"], 0.6, 3),
    ]
    assert [r["status"] for r in runs] == ["succeeded", "succeeded", "failed"]
    context = browser.new_context(base_url=server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, server.admin_token)
        page.goto(f"/jobs/{job['id']}")
        glance = page.locator("#history-glance")
        expect(glance.get_by_role("heading", name="History at a glance")).to_be_visible()
        strip = glance.locator("svg.history-strip")
        expect(strip).to_be_visible()
        expect(strip).to_have_attribute("role", "group")
        expect(page.get_by_role("group", name="The last 3 finished runs")).to_be_visible()
        bars = strip.locator("a")
        expect(bars).to_have_count(3)
        # Oldest on the left: in the order they ran, each a link named by its title.
        hrefs = [bars.nth(i).get_attribute("href") for i in range(3)]
        assert hrefs == [f"/runs/{r['id']}" for r in runs]
        for i, run in enumerate(runs):
            took = seconds_text((run["finished_at"] - run["started_at"]).total_seconds())
            started = run["started_at"].astimezone(UTC)
            expect(bars.nth(i).locator("title")).to_have_text(
                f"{run['status']}, started {started:%Y-%m-%d %H:%M:%S} UTC, took {took}"
            )
        heights = [
            float(bars.nth(i).locator("rect.bar").get_attribute("height") or 0) for i in range(3)
        ]
        assert heights[1] == max(heights) and heights[0] == min(heights)
        colours = [
            bars.nth(i).locator("rect.bar").evaluate("b => getComputedStyle(b).fill")
            for i in range(3)
        ]
        assert colours[0] == colours[1] != colours[2]  # green, green, red
        # The same facts in words beside the charts.
        stats = window_stats(runs, datetime.now().astimezone() + timedelta(minutes=1), 7)
        week = glance.locator('#glance-stats tr[data-days="7"]')
        expect(week.locator("td")).to_have_text(
            [
                "3",
                "67% (2 of 3)",
                seconds_text(stats.median_seconds),
                seconds_text(stats.p95_seconds),
            ]
        )
        trend = glance.get_by_role("img", name="Median run duration per day", exact=True)
        expect(trend).to_be_visible()
        expect(trend).to_have_accessible_description(re.compile(r"^From \d{4}-\d\d-\d\d to "))
        # A bar opens its run.
        bars.nth(2).click()
        expect(page).to_have_url(f"{server.url}/runs/{runs[2]['id']}")
    finally:
        context.close()


# The colours of every visible text, input and control against what is behind it, with the
# contrast ratio WCAG defines; those below AA (4.5:1, or 3:1 for large text) are returned.
LOW_CONTRAST = """() => {
  const parse = (text) => {
    const m = text.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const channel = (v) => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const luminance = (c) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  const over = (top, under) => ({
    r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a),
    b: top.b * top.a + under.b * (1 - top.a), a: 1,
  });
  const behind = (element) => {
    const layers = [];
    for (let e = element; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let colour = {r: 255, g: 255, b: 255, a: 1};
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour;
  };
  const failures = [];
  const check = (element) => {
    if (element.closest('svg, option, [hidden]') || !element.getClientRects().length) return;
    const style = getComputedStyle(element);
    if (style.visibility === 'hidden') return;
    const bg = behind(element);
    const fg = over(parse(style.color), bg);
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < needed) {
      const shown = [bg.r, bg.g, bg.b].map(Math.round).join(', ');
      failures.push({element: element.outerHTML.slice(0, 120), ratio: ratio.toFixed(2),
                     color: style.color, background: `rgb(${shown})`});
    }
  };
  for (const element of document.body.querySelectorAll('*')) {
    const texts = [...element.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const field = 'input:not([type=hidden]):not([type=checkbox]), textarea, select';
    if (texts || element.matches(field)) check(element);
  }
  return failures;
}"""

ROOT_COLOURS = """() => {
  const style = getComputedStyle(document.documentElement);
  return {background: style.backgroundColor, ink: style.color,
          header: getComputedStyle(document.querySelector('header.top')).backgroundColor};
}"""

LIGHT = {"background": "rgb(246, 247, 249)", "ink": "rgb(29, 35, 48)", "header": "rgb(29, 35, 48)"}


@pytest.fixture(scope="module")
def pages_to_check(server: Server) -> list[str]:
    """Every kind of page, with the things that colour them: statuses, a change, a notice."""
    job = api_job(server, "Theme check", program=TIMED, parameters={"seconds": 0, "code": 0})
    ok = finished_run(server, job["id"], 0, 0)
    failed = finished_run(server, job["id"], 0, 2)
    # A log at every level: the log viewer colours warning and error lines.
    levels = "; ".join(
        f"print('{level}: a line')" for level in ("VERBOSE", "DEBUG", "INFO", "WARNING", "ERROR")
    )
    logger = api_job(
        server, "Theme log", program={"argv": ["python3", "-c", levels]}, log_level="Verbose"
    )
    logged = run_now(server, logger["id"])
    wait_for_run(server, logged, lambda r: r["finished_at"] is not None, timeout=60)
    with server.api() as api:  # the log's own view may trail the run's by a moment
        deadline = time.monotonic() + 30
        while len(api.get(f"/api/runs/{logged}/logs").json()["items"]) < 5:
            assert time.monotonic() < deadline, "the log's five lines never showed"
            time.sleep(0.1)
    with server.api() as api:
        api.patch(f"/api/jobs/{job['id']}", json={"description": "changed"})
    return [
        "/",
        f"/jobs/{job['id']}?notice=saved",
        "/jobs/new",
        "/runs",
        f"/runs/{ok['id']}",
        f"/runs/{failed['id']}",
        f"/runs/{logged}",
        f"/jobs/{job['id']}/history",
        "/audit",
        "/notifications",
        "/docs",
    ]


def assert_readable(page: Page, path: str) -> None:
    page.goto(path)
    expect(page.locator("header.top")).to_be_visible()
    failures = page.evaluate(LOW_CONTRAST)
    assert failures == [], f"{path}: text below WCAG AA contrast: {failures}"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_follows_the_system_theme_with_aa_contrast(
    browser: Any, server: Server, pages_to_check: list[str], scheme: str
) -> None:
    context = browser.new_context(base_url=server.url, color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto("/login")
        colours = page.evaluate(ROOT_COLOURS)
        if scheme == "light":
            assert colours == LIGHT  # the light theme is as it was
        else:
            assert colours["background"] != LIGHT["background"]
            assert colours["ink"] != LIGHT["ink"]
        # The browser's own parts (scroll bars, form controls) follow the theme too.
        assert page.locator('meta[name="color-scheme"]').get_attribute("content") == "light dark"
        assert page.evaluate("getComputedStyle(document.documentElement).colorScheme") == (
            "light dark" if scheme == "light" else "dark"
        )
        assert_readable(page, "/login")
        sign_in(page, server.admin_token)
        for path in pages_to_check:
            assert_readable(page, path)
    finally:
        context.close()
