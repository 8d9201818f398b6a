"""Authentication as an attacker and an administrator meet it, over real HTTP: failed
sign-ins are limited per client address, and a revoked token stops working at once, open
log streams included.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from adapters.event_store_config import StoreSettings
from adapters.token_store import TokenStore, build_token_store
from interfaces.bootstrap import System, build
from interfaces.http.app import create_app
from interfaces.http.rate_limit import FailureLimiter
from interfaces.http.server import BackgroundServer
from interfaces.settings import Settings

WRONG = "jl_" + "x" * 43


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Served:
    system: System
    settings: Settings
    tokens: TokenStore
    server: BackgroundServer
    time: FakeTime
    admin: str

    def client(self, token: str | None = None, address: str = "127.0.0.1") -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        transport = httpx.HTTPTransport(local_address=address)
        return httpx.Client(
            base_url=self.server.url, headers=headers, transport=transport, timeout=5
        )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    store = StoreSettings(kind="sqlite", sqlite_path=tmp_path / "data" / "jobledger.sqlite3")
    settings = Settings(store=store, data_dir=tmp_path / "data", master_key=None)
    system = build(settings, announce=lambda _message: None)
    tokens = build_token_store(settings)
    admin = tokens.create("admin", "admin")[1]
    fake = FakeTime()
    app = create_app(system, tokens, auth_failures=FailureLimiter(limit=10, window=60, clock=fake))
    system.start_projections()
    server = BackgroundServer(app, port=0).start()
    try:
        yield Served(system, settings, tokens, server, fake, admin)
    finally:
        server.stop()
        tokens.close()
        system.close()


def test_failed_tokens_from_one_address_are_answered_429_until_the_window_passes(served):
    with (
        served.client(WRONG) as attacker,
        served.client(served.admin) as same_address,
        served.client(WRONG, address="127.0.0.2") as elsewhere,
    ):
        for _ in range(10):
            assert attacker.get("/api/jobs").status_code == 401
        refused = attacker.get("/api/jobs")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "60"
        assert refused.json()["status"] == 429
        # A valid token still works from that address; failures elsewhere are counted apart.
        assert same_address.get("/api/jobs").status_code == 200
        assert elsewhere.get("/api/jobs").status_code == 401
        served.time.now += 30
        assert attacker.get("/api/jobs").headers["Retry-After"] == "30"
        served.time.now += 61
        assert attacker.get("/api/jobs").status_code == 401


def _login_nonce(client: httpx.Client) -> str:
    nonce = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert nonce is not None
    return nonce.group(1)


def test_failed_sign_ins_on_the_page_are_answered_429_and_a_good_token_still_signs_in(served):
    with served.client() as browser:
        for _ in range(10):
            form = {"token": WRONG, "csrf_token": _login_nonce(browser)}
            assert browser.post("/login", data=form).status_code == 401
        form = {"token": WRONG, "csrf_token": _login_nonce(browser)}
        refused = browser.post("/login", data=form)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
        assert "Too many failed sign-ins" in refused.text
        form = {"token": served.admin, "csrf_token": _login_nonce(browser)}
        assert browser.post("/login", data=form).status_code == 303


def test_a_token_revoked_by_another_process_is_refused_on_the_next_request(served):
    _, plain = served.tokens.create("ci", "viewer")
    other_process = build_token_store(served.settings)
    try:
        with served.client(plain) as ci:
            assert ci.get("/api/jobs").status_code == 200
            assert other_process.revoke("ci")
            assert ci.get("/api/jobs").status_code == 401
    finally:
        other_process.close()


def test_an_open_log_stream_ends_when_its_token_is_revoked(served):
    _, plain = served.tokens.create("watcher", "viewer")
    with served.client(served.admin) as admin, served.client(plain) as watcher:
        job = admin.post(
            "/api/jobs",
            json={"name": "long", "job_type": "command", "program": {"argv": ["true"]}},
        ).json()
        run_id = admin.post(f"/api/jobs/{job['id']}/runs").json()["run_id"]
        # No worker runs here: the run stays queued and its stream stays open.
        with watcher.stream("GET", f"/api/runs/{run_id}/logs/stream") as stream:
            assert stream.status_code == 200
            opened = time.monotonic()
            served.tokens.revoke("watcher")
            # Ends by itself (a read timeout, 5 s, would fail the test): within a recheck.
            lines = list(stream.iter_lines())
            assert time.monotonic() - opened < 4
        assert not any(line.startswith("event: end") for line in lines)
        assert watcher.get(f"/api/runs/{run_id}/logs/stream").status_code == 401


def test_a_job_name_with_control_characters_is_refused_422_naming_name(served):
    with served.client(served.admin) as admin:
        job = {"name": "ring\x07", "job_type": "command", "program": {"argv": ["true"]}}
        refused = admin.post("/api/jobs", json=job)
        assert refused.status_code == 422 and refused.json()["field"] == "name"
        assert admin.get("/api/jobs").json()["items"] == []
