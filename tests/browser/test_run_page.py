"""The run page in a real browser against a real `jobledger serve`: it follows a run from
queued to running to its end without a reload, links a run's attempts, and shows the
parameters the run was given with the overridden ones marked."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

from playwright.sync_api import expect

from tests.browser.conftest import Server
from tests.browser.test_pages import SECRET, api_job, assert_no_secret, sign_in

# Waits until the file its run's `gate` parameter names exists, then ends without a log line
# at or above the job's threshold: its INFO line is discarded below Error.
GATED = {
    "argv": [
        "python3",
        "-c",
        "import json, os, time\n"
        "gate = json.loads(os.environ['JOBLEDGER_PARAMETERS'])['gate']\n"
        "while not os.path.exists(gate): time.sleep(0.05)\n"
        "print('INFO: below the threshold', flush=True)\n",
    ]
}


def run_now(server: Server, job_id: str, **parameters: Any) -> str:
    with server.api() as api:
        made = api.post(f"/api/jobs/{job_id}/runs", json={"parameters": parameters})
        assert made.status_code == 202, made.text
        run_id: str = made.json()["run_id"]
        return run_id


def wait_for_run(server: Server, run_id: str, done: Any, timeout: float = 30.0) -> dict[str, Any]:
    """The run as the API shows it, once `done(run)` is true (the test's own setup step)."""
    deadline = time.monotonic() + timeout
    with server.api() as api:
        while True:
            run: dict[str, Any] = api.get(f"/api/runs/{run_id}").json()
            if done(run):
                return run
            assert time.monotonic() < deadline, f"run {run_id} stayed {run['status']}"
            time.sleep(0.1)


def test_the_run_page_follows_a_run_from_queued_to_running_to_its_end(
    context: Any, server: Server
) -> None:
    gates = [Path(f"/tmp/jobledger-gate-{uuid4()}") for _ in range(2)]
    job = api_job(
        server,
        "Queue watch",
        program=GATED,
        overlap="queue",
        log_level="Error",
        parameters={"gate": "/nonexistent"},
    )
    runs: list[str] = []
    try:
        # The first run holds the job; with overlap "queue" the second waits for it.
        first = run_now(server, job["id"], gate=str(gates[0]))
        runs.append(first)
        wait_for_run(server, first, lambda run: run["status"] == "running")
        second = run_now(server, job["id"], gate=str(gates[1]))
        runs.append(second)
        page = context.new_page()
        sign_in(page, server.admin_token)
        page.goto(f"/runs/{second}")
        sentence = page.locator("#run-sentence")
        expect(sentence).to_have_text("This run is waiting for a worker.")
        expect(page.locator("#run-status")).to_contain_text("queued")
        worker = page.locator('#run-facts [data-field="worker"]')
        expect(worker).to_be_hidden()
        expect(page.locator("#log-empty")).to_have_text("No log entries yet.")
        page.evaluate("window.__notReloaded = true")

        gates[0].touch()  # the first run ends; the second starts
        expect(page.locator("#run-status")).to_contain_text("running")
        expect(sentence).to_have_text(re.compile(r"^This run is running on worker \S+\.$"))
        expect(page.locator('#run-facts [data-row="worker"]')).to_be_visible()
        expect(worker).to_be_visible()
        expect(worker).not_to_be_empty()
        assert sentence.inner_text().endswith(f"{worker.inner_text()}.")
        expect(page.locator('[data-field="started_at"]')).to_contain_text("UTC")

        gates[1].touch()  # the second run ends, its only line discarded below Error
        expect(sentence).to_have_text("This run succeeded.")
        expect(page.locator("#run-status")).to_contain_text("succeeded")
        expect(page.locator("#log-empty")).to_have_text(
            "This run wrote no log entries. 1 entry below Error was discarded."
        )
        expect(page.locator("#log-live")).to_have_text("")
        expect(page.get_by_role("button", name="Cancel run")).to_be_hidden()
        assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"

        # Served finished, the page says the same.
        page.reload()
        expect(sentence).to_have_text("This run succeeded.")
        expect(page.locator("#log-empty")).to_have_text(
            "This run wrote no log entries. 1 entry below Error was discarded."
        )
        expect(worker).to_be_visible()
    finally:
        for gate in gates:
            gate.touch()  # never leave a run waiting in the shared server
        for run_id in runs:
            wait_for_run(server, run_id, lambda run: run["status"] not in ("queued", "running"))
        for gate in gates:
            gate.unlink(missing_ok=True)


def test_each_attempt_links_to_the_one_before_and_the_one_after(
    context: Any, server: Server
) -> None:
    gate = Path(f"/tmp/jobledger-gate-{uuid4()}")
    failing = {
        "argv": [
            "python3",
            "-c",
            "import json, os, sys, time\n"
            "gate = json.loads(os.environ['JOBLEDGER_PARAMETERS'])['gate']\n"
            "while not os.path.exists(gate): time.sleep(0.05)\n"
            "sys.exit(3)\n",
        ]
    }
    job = api_job(
        server,
        "Retry links",
        program=failing,
        max_retries=1,
        retry_backoff_seconds=0,
        parameters={"gate": str(gate)},
    )
    first = run_now(server, job["id"])
    try:
        wait_for_run(server, first, lambda run: run["status"] == "running")
        page = context.new_page()
        sign_in(page, server.admin_token)
        page.goto(f"/runs/{first}")
        attempt = page.locator('#run-facts [data-field="attempt"]')
        expect(attempt).to_have_text("1 of 2")
        page.evaluate("window.__notReloaded = true")
        gate.touch()  # the first attempt fails; its retry is requested (and fails too)
        expect(page.locator("#run-sentence")).to_have_text("This run failed with exit code 3.")
        expect(attempt).to_have_text("1 of 2 · next attempt")  # added live
        assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
        retry = wait_for_run(server, first, lambda run: run["next_attempt"])["next_attempt"]
        wait_for_run(server, retry, lambda run: run["status"] == "failed")

        attempt.get_by_role("link", name="next attempt").click()
        expect(page).to_have_url(re.compile(f"/runs/{retry}$"))
        expect(attempt).to_have_text("2 of 2 · previous attempt")
        attempt.get_by_role("link", name="previous attempt").click()
        expect(page).to_have_url(re.compile(f"/runs/{first}$"))
        expect(attempt).to_have_text("1 of 2 · next attempt")  # served with the link
    finally:
        gate.touch()
        wait_for_run(server, first, lambda run: run["status"] not in ("queued", "running"))
        gate.unlink(missing_ok=True)


def test_a_run_shows_its_parameters_with_the_overridden_ones_marked(
    context: Any, server: Server
) -> None:
    job = api_job(
        server,
        "Parameters shown",
        parameters={"region": "eu", "limit": 5, "options": {"dry_run": False}},
        secrets={"API_KEY": SECRET},
    )
    page = context.new_page()
    sign_in(page, server.admin_token)
    page.goto(f"/jobs/{job['id']}")
    page.get_by_label(re.compile("Parameter overrides")).fill('{"limit": 7}')
    page.get_by_role("button", name="Run now").click()
    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]{36}\?new=1$"))

    block = page.locator("#run-parameters")
    expect(block.locator("pre")).to_be_hidden()  # collapsed until asked for
    block.get_by_text("Parameters (1 overridden for this run)").click()
    pre = block.locator("pre")
    expect(pre).to_be_visible()
    assert json.loads(pre.inner_text()) == {
        "region": "eu",
        "limit": 7,
        "options": {"dry_run": False},
    }
    expect(pre.locator(".overridden")).to_have_count(1)
    expect(pre.locator(".overridden")).to_have_attribute("data-key", "limit")
    expect(pre.locator('[data-key="region"]')).not_to_have_class(re.compile("overridden"))
    expect(block).to_contain_text("Overridden for this run (marked): limit.")
    assert_no_secret(page)
