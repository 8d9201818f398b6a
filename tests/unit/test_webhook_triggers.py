"""Webhook triggers without I/O: the token and its hash, bearer and GitHub-style signature
checks, the commands that make, revoke and fire triggers, their audit entries, and the
per-trigger rate limit."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from uuid import uuid4

import orjson
import pytest

from domain import trigger as trigger_model
from domain.errors import Conflict, InvalidInput, NotFound, NotPermitted
from domain.run import request, trigger_kind
from domain.trigger import Trigger
from domain.webhook_call import WebhookCall
from interfaces.http.hook_limit import CallLimiter, TooManyCalls
from interfaces.web.wording import describe_entry
from projections.audit import AuditChanges, AuditProjection
from tests.fakes import in_memory_ledger
from tests.unit.test_projections import fold


@pytest.fixture
def app():
    ledger = in_memory_ledger()
    yield ledger
    ledger.close()


def job(app: Any, **policies: Any):
    return app.register_job(
        name="Ticket sync",
        job_type="command",
        program={"argv": ["true"]},
        actor="alice",
        parameters={"tenant": "acme", "batch": 1},
        secrets={"API_KEY": "k"},
        policies={"overridable_parameters": ["batch"], **policies},
    )


def stored(app: Any) -> list[bytes]:
    return [n.state for n in app.recorder.select_notifications(1, 10_000)]


def github_signature(token: str, body: bytes) -> str:
    """What GitHub sends, computed as GitHub does: the token itself is the HMAC key."""
    return "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


# --- the token ---------------------------------------------------------------------------


def test_a_token_is_long_random_and_only_its_hash_is_kept() -> None:
    token = trigger_model.new_token()
    assert token.startswith("jlh_") and len(token.encode()) > 64
    assert token != trigger_model.new_token()
    stored_hash = trigger_model.token_hash(token)
    assert token not in stored_hash
    assert trigger_model.bearer_matches(stored_hash, token)
    assert not trigger_model.bearer_matches(stored_hash, token[:-1])


def test_a_github_signature_with_the_token_verifies_against_the_stored_hash_alone() -> None:
    token = trigger_model.new_token()
    stored_hash = trigger_model.token_hash(token)
    body = b'{"batch": 5}'
    assert trigger_model.signature_matches(stored_hash, body, github_signature(token, body))
    assert not trigger_model.signature_matches(
        stored_hash, b'{"batch": 6}', github_signature(token, body)
    )
    bare = github_signature(token, body).removeprefix("sha256=")
    assert not trigger_model.signature_matches(stored_hash, body, bare)
    assert not trigger_model.signature_matches(stored_hash, body, "sha256=\u00e9" * 3)
    assert not trigger_model.bearer_matches(stored_hash, "\u00e9t\u00e9")
    other = trigger_model.new_token()
    assert not trigger_model.signature_matches(stored_hash, body, github_signature(other, body))


def test_names_are_short_and_plain() -> None:
    assert trigger_model.trigger_name(" ticketing v2 ") == "ticketing v2"
    for bad in ("", " ", "a/b", "x" * 65, "-lead", "tab\there", 7):
        with pytest.raises(InvalidInput) as refused:
            trigger_model.trigger_name(bad)
        assert refused.value.field == "name"


def test_a_run_may_be_triggered_by_a_named_webhook_only() -> None:
    assert trigger_kind("webhook:tickets") == "webhook" and trigger_kind("manual") == "manual"
    args: dict[str, Any] = {
        "job_id": uuid4(),
        "job_version": 1,
        "job_name": "j",
        "job_type": "command",
        "requested_by": "webhook:tickets",
        "parameters": {},
        "log_level": "Info",
        "timeout_seconds": None,
    }
    assert request(trigger="webhook:tickets", **args).trigger == "webhook:tickets"
    for bad in ("webhook:", "webhook", "hook:x"):
        with pytest.raises(ValueError):
            request(trigger=bad, **args)


# --- the commands ------------------------------------------------------------------------


def test_creating_a_trigger_keeps_no_token_and_names_are_unique_per_job(app) -> None:
    made = job(app)
    trigger, token = app.create_trigger(made.id, "tickets", actor="token:admin")
    assert all(token.encode() not in state for state in stored(app))
    assert [t["name"] for t in app.job_triggers(made.id)] == ["tickets"]
    with pytest.raises(Conflict):
        app.create_trigger(made.id, "TICKETS", actor="token:admin")
    other = app.register_job(
        name="Other", job_type="command", program={"argv": ["true"]}, actor="alice"
    )
    app.create_trigger(other.id, "tickets", actor="token:admin")  # another job's namespace
    assert app.live_trigger(trigger.id).authenticates(bearer=token, signature=None, body=b"")


def test_a_revoked_trigger_is_gone_its_name_free_and_it_cannot_be_revoked_twice(app) -> None:
    made = job(app)
    trigger, token = app.create_trigger(made.id, "tickets", actor="token:admin")
    other = app.register_job(
        name="Other", job_type="command", program={"argv": ["true"]}, actor="alice"
    )
    with pytest.raises(NotFound):  # not this job's
        app.revoke_trigger(other.id, trigger.id, actor="token:admin")
    app.revoke_trigger(made.id, trigger.id, actor="token:admin")
    assert app.live_trigger(trigger.id) is None and app.job_triggers(made.id) == []
    with pytest.raises(NotFound):
        app.revoke_trigger(made.id, trigger.id, actor="token:admin")
    app.create_trigger(made.id, "tickets", actor="token:admin")
    assert app.live_trigger(uuid4()) is None


def test_a_webhook_run_has_the_webhook_as_trigger_and_actor_and_only_open_overrides(app) -> None:
    made = job(app)
    trigger, _token = app.create_trigger(made.id, "tickets", actor="token:admin")
    current = app.trigger_job(trigger)
    run = app.request_webhook_run(trigger, current, {"batch": 9}, client="10.0.0.5")
    assert (run.trigger, run.requested_by) == ("webhook:tickets", "webhook:tickets")
    assert run.parameters == {"tenant": "acme", "batch": 9} and list(run.overrides) == ["batch"]
    before = len(stored(app))
    for key in ("tenant", "API_KEY"):
        with pytest.raises(NotPermitted) as refused:
            app.request_webhook_run(trigger, current, {key: "x"}, client="10.0.0.5")
        assert refused.value.field == f"body.{key}"
    app.disable_job(made.id, actor="alice")
    with pytest.raises(Conflict):
        app.request_webhook_run(trigger, app.trigger_job(trigger), {}, client="10.0.0.5")
    assert len(stored(app)) == before + 1  # only the disable: refusals write nothing here


def test_a_secret_opened_to_overrides_by_name_is_still_refused(app) -> None:
    made = job(app, overridable_parameters=["batch", "API_KEY"])
    trigger, _token = app.create_trigger(made.id, "tickets", actor="token:admin")
    with pytest.raises(NotPermitted) as refused:
        app.request_webhook_run(trigger, app.trigger_job(trigger), {"API_KEY": "x"}, client="c")
    assert refused.value.field == "body.API_KEY"


def test_a_deleted_jobs_trigger_starts_nothing(app) -> None:
    made = job(app)
    trigger, _token = app.create_trigger(made.id, "tickets", actor="token:admin")
    app.delete_job(made.id, actor="alice")
    assert app.trigger_job(trigger) is None


# --- the audit trail ---------------------------------------------------------------------


def test_every_call_and_every_trigger_change_is_an_audit_entry_without_a_token(app) -> None:
    made = job(app)
    trigger, token = app.create_trigger(made.id, "tickets", actor="token:admin")
    run = app.request_webhook_run(trigger, made, {"batch": 2}, client="10.0.0.5")
    app.record_webhook_refused(
        str(trigger.id), trigger, client="10.0.0.6", status=401, reason="a wrong token was given"
    )
    app.record_webhook_refused("nope\x1b[31m", None, client="10.0.0.7", status=404, reason="r")
    app.revoke_trigger(made.id, trigger.id, actor="token:admin")
    events = [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(1, 1000)]
    watched = [
        e for e in events if isinstance(e, (Trigger.Created, Trigger.Revoked, WebhookCall.Recorded))
    ]
    changes: AuditChanges = fold(AuditProjection, *watched)
    rows = [(r["action"], r["actor"], r["job_id"]) for r in changes.rows]
    assert rows == [
        ("trigger.created", "token:admin", made.id),
        ("run.requested", "webhook:tickets", made.id),
        ("webhook.refused", "webhook:tickets", made.id),
        ("webhook.refused", "unknown", None),
        ("trigger.revoked", "token:admin", made.id),
    ]
    accepted = changes.rows[1]["details"]
    assert accepted == {
        "run_id": str(run.id),
        "parameters": {"tenant": "acme", "batch": 2},
        "trigger_id": str(trigger.id),
        "client": "10.0.0.5",
    }
    assert changes.rows[3]["details"]["trigger_id"] == "nope?[31m"  # shown as given, inert
    assert token.encode() not in orjson.dumps([r["details"] for r in changes.rows])
    words = [describe_entry({**r, "job_name": "Ticket sync"}) for r in changes.rows[1:3]]
    assert words == [
        'Ran “Ticket sync” by webhook from 10.0.0.5, with tenant = "acme", batch = 2',
        "Refused a webhook call from 10.0.0.6 (401): a wrong token was given",
    ]


# --- the rate limit ----------------------------------------------------------------------


def test_each_trigger_has_its_own_allowance_in_a_sliding_window() -> None:
    now = [0.0]
    limiter = CallLimiter(limit=2, window=10, clock=lambda: now[0])
    limiter.called("a")
    now[0] = 4
    limiter.called("a")
    limiter.called("b")
    with pytest.raises(TooManyCalls) as limited:
        limiter.called("a")
    assert limited.value.retry_after == 6
    now[0] = 10.5  # the first call left the window; refused calls did not count
    limiter.called("a")
    with pytest.raises(TooManyCalls):
        limiter.called("a")
