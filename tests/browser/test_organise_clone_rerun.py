"""The jobs page's folder tree, tag chips and filter kept in the URL; cloning a job and
rerunning a run from their pages: in a real browser against a real `jobledger serve`."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

from playwright.sync_api import expect

from tests.browser.conftest import Server
from tests.browser.test_pages import SECRET, api_job, assert_no_secret, sign_in
from tests.browser.test_run_page import run_now, wait_for_run


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_the_jobs_page_filters_by_folder_tree_and_tag_chips_and_keeps_the_filter_in_the_url(
    context: Any, server: Server
) -> None:
    top = f"Customers{uuid4().hex[:8]}"  # the browser server is shared: a folder of our own
    api_job(server, "Contoso sync " + top, folder=f"{top}/Contoso", tags=["billing", "nightly"])
    api_job(server, "Contoso EU " + top, folder=f"{top}/Contoso/EU", tags=["billing"])
    api_job(server, "Fabrikam backup " + top, folder=f"{top}/Fabrikam", tags=["backup"])
    page = context.new_page()
    sign_in(page, server.admin_token)

    tree = page.locator("#folder-tree")
    # The tree nests: Customers… > Contoso > EU, each with the jobs in and below it.
    root = tree.locator(f'a[data-folder="{top}"]')
    expect(root).to_be_visible()
    expect(root.locator("xpath=..")).to_contain_text("3")
    expect(tree.locator(f'a[data-folder="{top}/Contoso/EU"]')).to_have_text("EU")
    tree.locator(f'a[data-folder="{top}/Contoso"]').click()
    expect(page).to_have_url(re.compile(r"folder="))
    assert query_of(page.url)["folder"] == [f"{top}/Contoso"]
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(2)  # the folder and its subfolder
    expect(tree.locator(f'a[data-folder="{top}/Contoso"]')).to_have_attribute(
        "aria-current", "page"
    )

    # A new job made from here starts in this folder.
    page.get_by_role("link", name="New job").click()
    expect(page.get_by_label("Folder")).to_have_value(f"{top}/Contoso")
    page.go_back()

    # A tag chip narrows the folder's jobs, and is marked as chosen.
    page.locator("#tag-chips a[data-tag='nightly']").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Contoso sync " + top)
    assert query_of(page.url)["tag"] == ["nightly"]
    assert query_of(page.url)["folder"] == [f"{top}/Contoso"]
    expect(page.locator("#tag-chips a[data-tag='nightly']")).to_have_attribute(
        "aria-current", "true"
    )
    expect(page.locator("#tag-chips a[data-tag='billing']")).not_to_have_attribute(
        "aria-current", "true"
    )
    expect(page.locator("#filter-summary")).to_contain_text("tagged nightly")

    # The form keeps folder and tag, and adds the search and sort to the URL.
    page.get_by_label("Name or description contains").fill("SYNC")
    page.get_by_label("Sort by").select_option("last_run")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    wanted = query_of(page.url)
    assert wanted["q"] == ["SYNC"] and wanted["sort"] == ["last_run"]
    assert wanted["tag"] == ["nightly"] and wanted["folder"] == [f"{top}/Contoso"]

    # Reloading (or opening the link elsewhere) shows the same filter and the same jobs.
    page.reload()
    expect(rows).to_have_count(1)
    expect(page.get_by_label("Name or description contains")).to_have_value("SYNC")
    expect(page.get_by_label("Sort by")).to_have_value("last_run")
    other = context.new_page()
    other.goto(page.url)
    expect(other.locator("table.list tbody tr")).to_have_count(1)

    # Choosing the chip again removes the tag; the row's chips filter by their tag.
    page.goto(f"/jobs?folder={top}")
    expect(rows).to_have_count(3)
    page.locator("tbody a.chip", has_text="backup").click()
    assert query_of(page.url)["tag"] == ["backup"]
    expect(rows).to_have_count(1)
    page.locator("#tag-chips a[data-tag='backup']").click()
    assert "tag" not in query_of(page.url)
    page.locator("#clear-filter").click()
    expect(page).to_have_url(re.compile(r"/jobs$"))

    # A filter no store could hold is refused, naming what is wrong, not a server error.
    for bad, words in (("folder=a//b", "folder"), ("sort=colour", "sort"), ("tag=a%20b", "tags")):
        response = page.goto("/jobs?" + bad)
        assert response is not None and response.status == 400, bad
        expect(page.locator("main")).to_contain_text(words)


def test_a_job_is_cloned_from_its_page_and_a_run_is_rerun_from_its_page(
    context: Any, server: Server
) -> None:
    name = f"Clone me {uuid4().hex[:8]}"
    job = api_job(
        server,
        name,
        folder="Ops",
        tags=["clone-test"],
        parameters={"region": "eu"},
        secrets={"API_KEY": SECRET},
    )
    page = context.new_page()
    sign_in(page, server.admin_token)
    page.goto(f"/jobs/{job['id']}")
    page.get_by_label("Name of the new job").fill(name + " for Fabrikam")
    page.get_by_role("button", name="Clone job").click()
    expect(page.get_by_role("heading", name=name + " for Fabrikam")).to_be_visible()
    expect(page.locator("#secrets-to-set")).to_contain_text("API_KEY")
    expect(page.locator("#secrets-to-set")).to_contain_text("stays disabled")
    expect(page.locator("#job-organised")).to_contain_text("Ops")
    expect(page.get_by_label("Tags (separated by commas)")).to_have_value("clone-test")
    assert_no_secret(page)
    # Setting the secret on the clone takes it off the list.
    page.get_by_label("Secret name").fill("API_KEY")
    page.get_by_label("Value").fill("another-value")
    page.get_by_role("button", name="Set secret").click()
    expect(page.locator("#secrets")).to_contain_text("API_KEY")
    # The name is taken: the clone is refused, saying so.
    page.goto(f"/jobs/{job['id']}")
    page.get_by_label("Name of the new job").fill(name.upper())
    page.get_by_role("button", name="Clone job").click()
    expect(page.locator("body")).to_contain_text("already named")

    # Rerun: a new run with the same parameters, linked to the first.
    first = run_now(server, job["id"], region="us")
    wait_for_run(server, first, lambda run: run["status"] not in ("queued", "running"))
    page.goto(f"/runs/{first}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Rerun").click()
    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]{36}\?new=1$"))
    rerun_id = urlsplit(page.url).path.rsplit("/", 1)[-1]
    assert rerun_id != first
    expect(page.locator("#run-facts")).to_contain_text("rerun")
    expect(page.locator("#rerun-of")).to_have_attribute("href", f"/runs/{first}")
    with server.api() as api:
        shown = api.get(f"/api/runs/{rerun_id}").json()
    assert shown["parameters"] == {"region": "us"} and shown["rerun_of"] == first
