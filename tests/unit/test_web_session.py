"""The web pages' session cookie and CSRF checks, on a bare app with fake tokens and clock."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from adapters.master_key import MasterKey
from domain.access import Principal
from domain.access_log import Access
from interfaces.http.rate_limit import FailureLimiter
from interfaces.web import mount
from interfaces.web.auth import safe_next
from interfaces.web.session import (
    COOKIE,
    LIFETIME,
    csrf_ok,
    decode,
    principal_from_session,
    read_form,
)
from tests.fakes import FakeClock, in_memory_ledger

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient warns about httpx on import
    from starlette.testclient import TestClient

TOKENS = {
    "jl_admin": Principal("ada", "admin", "t-admin"),
    "jl_view": Principal("vic", "viewer", "t-view"),
}


@dataclass
class FakeTokens:
    revoked: set[str] = field(default_factory=set)

    def verify(self, plain: str) -> Principal | None:
        principal = TOKENS.get(plain)
        return None if principal is None or principal.token_id in self.revoked else principal

    def identify(self, plain: str) -> Principal | None:
        return TOKENS.get(plain)

    def get(self, token_id: str) -> Principal | None:
        if token_id in self.revoked:
            return None
        return next((p for p in TOKENS.values() if p.token_id == token_id), None)


AT = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


@pytest.fixture
def app() -> FastAPI:
    app = FastAPI()
    app.state.system = SimpleNamespace(master_key=MasterKey.generate(), app=in_memory_ledger())
    app.state.tokens = FakeTokens()
    app.state.clock = FakeClock(AT)
    mount(app)

    @app.get("/probe")
    def probe(request: Request) -> PlainTextResponse:
        principal = principal_from_session(request)
        return PlainTextResponse(principal.name if principal else "-")

    @app.post("/probe")
    async def probe_post(request: Request) -> PlainTextResponse:
        await read_form(request)
        return PlainTextResponse("ok" if csrf_ok(request) else "refused")

    return app


def client(app: FastAPI, base_url: str = "http://testserver") -> TestClient:
    return TestClient(app, base_url=base_url, follow_redirects=False)


def sign_in(c: TestClient, token: str = "jl_admin") -> str:
    page = c.get("/login")
    nonce = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert nonce is not None
    done = c.post("/login", data={"token": token, "csrf_token": nonce.group(1), "next": "/probe"})
    assert done.status_code == 303 and done.headers["location"] == "/probe"
    return done.headers["set-cookie"]


def session_csrf(c: TestClient, app: FastAPI) -> str:
    session = decode(
        app.state.system.master_key.derive(b"jobledger web session cookie v1"),
        c.cookies[COOKIE],
        app.state.clock.now(),
    )
    assert session is not None
    return session.csrf


def test_signing_in_sets_an_httponly_strict_cookie_naming_only_the_token_id(app):
    c = client(app)
    cookie = sign_in(c)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back
    assert "jl_admin" not in cookie
    assert c.get("/probe").text == "ada"
    assert "Secure" in sign_in(client(app, "https://testserver"))


def test_an_altered_or_foreign_cookie_signs_no_one_in(app):
    c = client(app)
    sign_in(c)
    value = c.cookies[COOKIE]
    payload, signature = value.split(".")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature
    c.cookies.set(COOKIE, forged)
    assert c.get("/probe").text == "-"
    other = FastAPI()
    other.state.system = SimpleNamespace(master_key=MasterKey.generate())
    assert decode(other.state.system.master_key.derive(b"x"), value, FakeClock(AT).now()) is None


def test_a_session_expires_and_a_revoked_token_ends_it_at_once(app):
    c = client(app)
    sign_in(c)
    app.state.tokens.revoked.add("t-admin")
    assert c.get("/probe").text == "-"
    app.state.tokens.revoked.clear()
    assert c.get("/probe").text == "ada"
    app.state.clock.at += LIFETIME + timedelta(seconds=1)
    assert c.get("/probe").text == "-"


def test_csrf_needs_the_sessions_token_in_the_header_or_the_form(app):
    c = client(app)
    assert c.post("/probe", data={"csrf_token": "x"}).text == "refused"  # no session
    sign_in(c)
    csrf = session_csrf(c, app)
    assert c.post("/probe").text == "refused"
    assert c.post("/probe", data={"csrf_token": csrf[:-1] + "x"}).text == "refused"
    assert c.post("/probe", data={"csrf_token": csrf}).text == "ok"
    assert c.post("/probe", headers={"X-CSRF-Token": csrf}).text == "ok"
    assert c.post("/probe", headers={"X-CSRF-Token": "nope"}).text == "refused"


def test_pages_send_strangers_to_sign_in_and_refuse_bad_tokens(app):
    c = client(app)
    to_login = c.get("/jobs/new?x=1")
    assert to_login.status_code == 303
    assert to_login.headers["location"] == "/login?next=/jobs/new%3Fx%3D1"
    page = c.get("/login")
    nonce = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert nonce is not None
    refused = c.post("/login", data={"token": "jl_wrong", "csrf_token": nonce.group(1)})
    assert refused.status_code == 401 and "not valid" in refused.text
    assert COOKIE not in c.cookies
    # A sign-in form posted from elsewhere has no matching one-form token.
    fresh = client(app)
    assert fresh.post("/login", data={"token": "jl_admin", "csrf_token": "x"}).status_code == 403


def test_state_changing_pages_check_role_then_csrf(app):
    viewer = client(app)
    sign_in(viewer, "jl_view")
    csrf = session_csrf(viewer, app)
    refused = viewer.post("/jobs/new", data={"csrf_token": csrf, "name": "x"})
    assert refused.status_code == 403 and "administrator" in refused.text
    assert viewer.get("/jobs/new").status_code == 403
    admin = client(app)
    sign_in(admin)
    no_token = admin.post("/jobs/new", data={"name": "x"})
    assert no_token.status_code == 403 and "CSRF" in no_token.text


def test_signing_out_needs_csrf_and_clears_the_cookie(app):
    c = client(app)
    sign_in(c)
    assert c.post("/logout").status_code == 403
    done = c.post("/logout", data={"csrf_token": session_csrf(c, app)})
    assert done.status_code == 303 and done.headers["location"].startswith("/login")
    assert c.get("/probe").text == "-"


def test_pages_carry_a_content_security_policy_without_inline_script(app):
    page = client(app).get("/login")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "<script>" not in page.text


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/jobs/1", "/jobs/1"), ("//evil.example/x", "/"), ("/\\evil", "/"), ("https://e.x", "/"),
     (None, "/"), ("/login?next=/x", "/")],
)  # fmt: skip
def test_after_sign_in_only_local_paths(target, expected):
    assert safe_next(target) == expected


def test_derived_keys_are_per_purpose_and_stable():
    key = MasterKey.generate()
    first = key.derive(b"a")
    assert len(first) == 32 and first == key.derive(b"a")
    assert first != key.derive(b"b") and first != MasterKey.generate().derive(b"a")
    with pytest.raises(ValueError):
        key.derive(b"")


def _access_events(app: FastAPI) -> list[Any]:
    ledger = app.state.system.app
    notes = ledger.recorder.select_notifications(1, 1000)
    return [ledger.mapper.to_domain_event(n) for n in notes]


def _try(c: TestClient, token: str) -> int:
    page = c.get("/login")
    nonce = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert nonce is not None
    return c.post("/login", data={"token": token, "csrf_token": nonce.group(1)}).status_code


def test_each_sign_in_is_recorded_with_the_token_name_or_unknown_and_the_address(app):
    c = client(app)
    sign_in(c)
    assert _try(client(app), "jl_not-a-token-at-all") == 401
    ok, failed = _access_events(app)
    assert isinstance(ok, Access.SignedIn) and isinstance(failed, Access.SignInFailed)
    assert (ok.actor, ok.token_name, ok.client) == ("token:ada", "ada", "testclient")
    assert (failed.actor, failed.client) == ("unknown", "testclient")
    assert "not-a-token-at-all" not in repr(failed)
    assert (failed.token_id, failed.token_name) == (None, "unknown")
    c.get("/probe")  # a page read in the session is not a sign-in
    assert len(_access_events(app)) == 2


def test_a_failed_sign_in_with_a_revoked_token_names_it(app):
    app.state.tokens.revoked.add("t-view")
    assert _try(client(app), "jl_view") == 401
    (failed,) = _access_events(app)
    assert isinstance(failed, Access.SignInFailed)
    assert (failed.actor, failed.token_id, failed.token_name) == ("unknown", "t-view", "vic")


def test_failed_sign_ins_past_the_rate_limit_are_refused_unrecorded(app):
    app.state.auth_failures = FailureLimiter(limit=2, clock=lambda: 0.0)
    c = client(app)
    assert [_try(c, "jl_wrong") for _ in range(4)] == [401, 401, 429, 429]
    assert [type(e).__name__ for e in _access_events(app)] == ["SignInFailed"] * 2
