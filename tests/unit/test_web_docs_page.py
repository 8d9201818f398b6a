"""/docs is one of the pages: their header (with its API link), their style sheet, nothing
from another host; and every page's header links to it."""

from __future__ import annotations

import re
import warnings
from types import SimpleNamespace

import pytest
from fastapi import FastAPI

from adapters.master_key import MasterKey
from interfaces.http.routes import docs, jobs
from interfaces.web import mount
from tests.unit.test_web_session import FakeClock, FakeTokens, sign_in

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient warns about httpx on import
    from starlette.testclient import TestClient


@pytest.fixture
def signed_in() -> TestClient:
    app = FastAPI(title="JobLedger", version="9.9", docs_url=None, redoc_url=None, openapi_url=None)
    no_entries = SimpleNamespace(
        entries=lambda **_filters: ([], None), count_entries=lambda **_filters: 0
    )
    signing_in = SimpleNamespace(record_sign_in=lambda *_a, **_k: None)  # not audited here
    app.state.system = SimpleNamespace(
        master_key=MasterKey.generate(), audit=no_entries, app=signing_in
    )
    app.state.tokens = FakeTokens()
    app.state.clock = FakeClock()
    app.include_router(jobs.router)
    app.include_router(docs.router)
    mount(app)
    client = TestClient(app, base_url="http://testserver", follow_redirects=False)
    sign_in(client)
    return client


def test_docs_is_styled_like_the_pages_and_lists_the_operations(signed_in: TestClient) -> None:
    page = signed_in.get("/docs")
    assert page.status_code == 200
    html = page.text
    assert '<link rel="stylesheet" href="/assets/app.css">' in html
    assert '<header class="top">' in html and '<a href="/docs">API</a>' in html
    assert "<style" not in html  # the page's own style sheet, which the CSP allows
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert re.search(
        r'<span class="method method-patch">PATCH</span> <code>/api/jobs/\{job_id\}</code>', html
    )
    assert "Change a job" in html
    # Nothing from a CDN or any other host.
    assert re.findall(r'(?:src|href)="(?:https?:)?//', html) == []


def test_every_page_header_links_the_api_docs(signed_in: TestClient) -> None:
    for path in ("/login", "/audit"):
        html = signed_in.get(path).text
        assert '<a href="/docs">API</a>' in html, path
