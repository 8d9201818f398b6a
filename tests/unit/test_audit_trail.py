"""Who ran what and who got access: the access events, the commands that record them, the
audit projection's fold of runs and access, and the CSV export's cells (no I/O)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest

from domain import access_log
from domain.access import Principal
from domain.access_log import Access
from domain.errors import InvalidInput
from domain.run import Run
from interfaces.http.audit_csv import COLUMNS, audit_csv, safe_cell
from interfaces.http.first_admin import FIRST_START_ACTOR, ensure_first_admin
from interfaces.web.history import csv_link
from interfaces.web.wording import describe_entry
from projections.audit import ACTIONS, AuditChanges, AuditProjection, parse_actions
from tests.fakes import in_memory_ledger
from tests.unit.test_projections import fold, new_job, new_run

PLAIN_PREFIX = "jl_"


class FakeTokenStore:
    """Tokens in a dict: what the token store port promises, nothing more."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.plains: list[str] = []

    def create(self, name: str, role: str) -> tuple[Principal, str]:
        token_id = str(uuid4())
        plain = f"{PLAIN_PREFIX}{uuid4().hex}"
        self.plains.append(plain)
        self.rows[token_id] = {"id": token_id, "name": name, "role": role, "revoked": False}
        return Principal(name, role, token_id), plain

    def list(self) -> list[dict[str, Any]]:
        return list(self.rows.values())

    def revoke(self, token_id_or_name: str) -> bool:
        for row in self.rows.values():
            if not row["revoked"] and token_id_or_name in (row["id"], row["name"]):
                row["revoked"] = True
                return True
        return False

    def has_admin(self) -> bool:
        return any(r["role"] == "admin" and not r["revoked"] for r in self.rows.values())


def stored_events(app: Any) -> list[Any]:
    """Every event the application saved, decoded, in order."""
    return [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(1, 1000)]


# --- the events and the commands that record them ---------------------------------------


def test_creating_a_token_records_who_made_it_by_name_and_role_never_the_token() -> None:
    app, tokens = in_memory_ledger(), FakeTokenStore()
    principal, plain = app.create_token(tokens, "night-shift", "operator", actor="cli:alice")
    (event,) = stored_events(app)
    assert isinstance(event, Access.TokenCreated)
    assert (event.actor, event.token_name, event.role) == ("cli:alice", "night-shift", "operator")
    assert event.token_id == principal.token_id
    assert plain not in repr(event) and plain[len(PLAIN_PREFIX) :][:8] not in repr(event)


def test_a_token_whose_creation_cannot_be_recorded_is_revoked_again() -> None:
    app, tokens = in_memory_ledger(), FakeTokenStore()

    def store_down(*_aggregates: Any) -> None:
        raise OSError("the store is away")

    app._save = store_down  # type: ignore[method-assign]
    with pytest.raises(OSError):
        app.create_token(tokens, "ci", "viewer", actor="cli:alice")
    assert [row["revoked"] for row in tokens.list()] == [True]


def test_revoking_by_name_or_id_records_the_token_revoked_and_an_unknown_one_nothing() -> None:
    app, tokens = in_memory_ledger(), FakeTokenStore()
    first, _ = app.create_token(tokens, "ci", "viewer", actor="cli:alice")
    second, _ = app.create_token(tokens, "ops", "operator", actor="cli:alice")
    assert app.revoke_token(tokens, "ci", actor="token:root") is not None
    assert app.revoke_token(tokens, second.token_id, actor="cli:bob") is not None
    assert app.revoke_token(tokens, "ci", actor="cli:bob") is None  # no live token left
    assert app.revoke_token(tokens, "nobody", actor="cli:bob") is None
    revoked = [e for e in stored_events(app) if isinstance(e, Access.TokenRevoked)]
    assert [(e.token_id, e.token_name, e.role, e.actor) for e in revoked] == [
        (first.token_id, "ci", "viewer", "token:root"),
        (second.token_id, "ops", "operator", "cli:bob"),
    ]


def test_the_first_administrator_token_is_on_the_audit_trail() -> None:
    app, tokens = in_memory_ledger(), FakeTokenStore()
    shown: list[str] = []
    plain = ensure_first_admin(tokens, shown.append, app)  # type: ignore[arg-type]
    assert plain is not None and plain in shown
    (event,) = stored_events(app)
    assert isinstance(event, Access.TokenCreated)
    assert (event.actor, event.token_name, event.role) == (FIRST_START_ACTOR, "admin", "admin")
    assert ensure_first_admin(tokens, shown.append, app) is None  # type: ignore[arg-type]
    assert len(stored_events(app)) == 1


def test_sign_ins_record_the_token_name_or_unknown_and_the_client_address() -> None:
    app = in_memory_ledger()
    app.record_sign_in(Principal("ada", "admin", "t-1"), client="10.0.0.7")
    app.record_failed_sign_in(client="203.0.113.9" + "x" * 500)
    app.record_failed_sign_in(client="::1", revoked=Principal("old", "viewer", "t-0"))
    ok, failed, revoked = stored_events(app)
    assert isinstance(ok, Access.SignedIn) and isinstance(failed, Access.SignInFailed)
    assert (ok.actor, ok.token_name, ok.token_id, ok.client) == (
        "token:ada",
        "ada",
        "t-1",
        "10.0.0.7",
    )
    assert failed.actor == access_log.UNKNOWN
    assert failed.client.startswith("203.0.113.9")
    assert len(failed.client) == access_log.MAX_CLIENT_LENGTH
    assert (failed.token_id, failed.token_name) == (None, access_log.UNKNOWN)
    assert (revoked.actor, revoked.token_id, revoked.token_name) == ("unknown", "t-0", "old")
    assert ok.originator_id != failed.originator_id  # a stream each: no contention


# --- the projection ---------------------------------------------------------------------


def test_a_manual_run_request_is_audited_with_its_effective_parameters() -> None:
    job = new_job()
    job.collect_events()
    manual = new_run(job, requested_by="token:bob", parameters={"tenant": "globex", "n": 2})
    scheduled = new_run(job, trigger="schedule", scheduled_for=datetime(2026, 1, 1, tzinfo=UTC))
    retry = new_run(job, trigger="retry", requested_by="system:retry", retry_of=manual.id)
    changes: AuditChanges = fold(
        AuditProjection, *[e for r in (manual, scheduled, retry) for e in r.collect_events()]
    )
    (row,) = changes.rows
    assert row["action"] == "run.requested" and row["actor"] == "token:bob"
    assert (row["stream_id"], row["version"]) == (manual.id, 1)
    assert (row["job_id"], row["job_name"]) == (job.id, "nightly")
    assert row["details"] == {"run_id": str(manual.id), "parameters": {"tenant": "globex", "n": 2}}
    assert row["changes"] == {} and changes.unnamed_job_ids() == []


def test_a_cancellation_names_who_and_whose_run_and_the_system_is_not_audited() -> None:
    job = new_job()
    queued, running, stopped = new_run(job), new_run(job), new_run(job)
    for run in (queued, running, stopped):
        run.collect_events()
    queued.request_cancel("token:carol")  # CancelRequested, then Cancelled at once
    running.start("w-1")
    running.request_cancel("token:dave")
    stopped.request_cancel("system:shutdown")
    changes: AuditChanges = fold(
        AuditProjection, *[e for r in (queued, running, stopped) for e in r.collect_events()]
    )
    assert [(r["action"], r["actor"], r["job_id"], r["details"]) for r in changes.rows] == [
        ("run.cancelled", "token:carol", job.id, {"run_id": str(queued.id)}),
        ("run.cancelled", "token:dave", job.id, {"run_id": str(running.id)}),
    ]
    assert {r["job_name"] for r in changes.rows} == {"nightly"}


def test_a_cancellation_recorded_before_it_named_its_job_is_still_audited() -> None:
    run_id = uuid4()
    old = Run.CancelRequested(  # as stored before the event carried its job
        originator_id=run_id, originator_version=2, timestamp=datetime.now(UTC), actor="bob"
    )
    changes: AuditChanges = fold(AuditProjection, old)
    (row,) = changes.rows
    assert (row["action"], row["job_id"], row["job_name"]) == ("run.cancelled", None, None)
    assert changes.unnamed_job_ids() == []


def test_access_events_become_entries_without_a_job_and_never_with_a_token() -> None:
    events = [
        access_log.token_created(token_id="t-1", token_name="ci", role="viewer", actor="cli:a"),
        access_log.token_revoked(token_id="t-1", token_name="ci", role="viewer", actor="cli:b"),
        access_log.signed_in(token_id="t-2", token_name="ada", actor="token:ada", client="::1"),
        access_log.sign_in_failed(client="10.1.1.1"),
        access_log.sign_in_failed(client="::1", revoked=Principal("old", "viewer", "t-0")),
    ]
    changes: AuditChanges = fold(AuditProjection, *[a.collect_events()[0] for a in events])
    assert [(r["action"], r["actor"], r["job_id"], r["details"]) for r in changes.rows] == [
        ("token.created", "cli:a", None, {"token_id": "t-1", "token_name": "ci", "role": "viewer"}),
        ("token.revoked", "cli:b", None, {"token_id": "t-1", "token_name": "ci", "role": "viewer"}),
        (
            "sign_in.succeeded",
            "token:ada",
            None,
            {"token_id": "t-2", "token_name": "ada", "client": "::1"},
        ),
        ("sign_in.failed", "unknown", None, {"token_name": "unknown", "client": "10.1.1.1"}),
        (
            "sign_in.failed",
            "unknown",
            None,
            {"token_id": "t-0", "token_name": "old", "client": "::1"},
        ),
    ]
    assert changes.unnamed_job_ids() == []


def test_every_job_event_has_a_job_action() -> None:
    job = new_job()
    job.disable("bob")
    job.delete("carol")
    changes: AuditChanges = fold(AuditProjection, *job.collect_events())
    assert [r["action"] for r in changes.rows] == ["job.created", "job.changed", "job.deleted"]
    assert all(r["stream_id"] == job.id and r["details"] == {} for r in changes.rows)


def test_the_action_filter_takes_several_and_names_every_unknown_one() -> None:
    assert parse_actions([]) is None and parse_actions(["", " "]) is None
    assert parse_actions(["run.requested", "token.created,run.requested"]) == [
        "run.requested",
        "token.created",
    ]
    assert parse_actions([",".join(ACTIONS)]) == list(ACTIONS)
    with pytest.raises(InvalidInput) as refused:
        parse_actions(["run.requested,run.ran", "login"])
    assert refused.value.field == "action"
    assert "'run.ran'" in refused.value.message and "'login'" in refused.value.message


# --- the CSV ----------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_prefixed_with_a_quote(start) -> None:
    assert safe_cell(f'{start}HYPERLINK("http://x")') == f'\'{start}HYPERLINK("http://x")'


def test_other_cells_are_plain_text_json_or_iso_times() -> None:
    at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert safe_cell(at) == "2026-11-30T09:00:00+00:00"
    assert safe_cell(None) == "" and safe_cell(3) == "3" and safe_cell("ok=1") == "ok=1"
    assert safe_cell({"b": 1, "a": "=x"}) == '{"a":"=x","b":1}'  # JSON starts with {


def test_the_csv_quotes_and_streams_every_page() -> None:
    stream = uuid4()

    def entry(n: int, name: str) -> dict[str, Any]:
        return {
            "at": datetime(2026, 11, 30, 9, n, tzinfo=UTC),
            "action": "job.changed",
            "actor": "=cmd|' /C calc'!A0",
            "job_id": stream,
            "job_name": name,
            "event": "Renamed",
            "details": {},
            "changes": {"name": {"from": "a", "to": name}},
            "stream_id": stream,
            "version": n,
        }

    pages = {"c1": ([entry(1, "two\nlines")], None)}
    first = ([entry(2, 'with "quotes", and commas')], "c1")
    text = "".join(audit_csv(first, lambda cursor: pages[cursor]))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(COLUMNS)
    assert [r[COLUMNS.index("job_name")] for r in rows[1:]] == [
        'with "quotes", and commas',
        "two\nlines",
    ]
    assert {r[COLUMNS.index("actor")] for r in rows[1:]} == {"'=cmd|' /C calc'!A0"}
    assert orjson.loads(rows[2][COLUMNS.index("changes")])["name"]["to"] == "two\nlines"
    assert UUID(rows[1][COLUMNS.index("stream_id")]) == stream


# --- the Audit page's words and download link -------------------------------------------


def test_each_run_and_access_entry_reads_as_a_sentence() -> None:
    def words(action: str, details: dict[str, Any], job_name: str | None = None) -> str:
        return describe_entry({"action": action, "details": details, "job_name": job_name})

    assert words("run.requested", {"parameters": {"tenant": "globex", "n": 2}}, "Sync") == (
        'Ran “Sync” now, with tenant = "globex", n = 2'
    )
    assert (
        words("run.requested", {"parameters": {}}, "Sync") == "Ran “Sync” now, with no parameters"
    )
    assert words("run.cancelled", {}, None) == "Cancelled a run of a job"
    token = {"token_name": "ci", "role": "viewer"}
    assert words("token.created", token) == "Created the viewer token “ci”"
    assert words("token.revoked", token) == "Revoked the viewer token “ci”"
    assert words("sign_in.succeeded", {"token_name": "ci", "client": "::1"}) == (
        "Signed in with the token “ci” from ::1"
    )
    assert words("sign_in.failed", {"token_name": "unknown", "client": "10.0.0.9"}) == (
        "A sign-in from 10.0.0.9 failed: the token was not recognised"
    )
    assert words("sign_in.failed", {"token_name": "ci", "client": "10.0.0.9"}) == (
        "A sign-in from 10.0.0.9 failed: the token “ci” is revoked"
    )


def test_each_channel_entry_names_the_channel_and_its_type_and_secrets_by_name() -> None:
    def words(action: str, details: dict[str, Any], changes: dict[str, Any] | None = None) -> str:
        entry = {"action": action, "details": details, "job_name": None, "changes": changes}
        return describe_entry(entry)

    hook = {"channel_id": "c", "channel_name": "on-call", "channel_type": "webhook"}
    assert words("channel.created", {**hook, "secrets": ["signing_secret"]}) == (
        "Created the webhook channel “on-call” with the secrets signing_secret"
    )
    assert words("channel.changed", hook, {"name": {"from": "old", "to": "on-call"}}) == (
        "Renamed the webhook channel “on-call” from “old”"
    )
    assert words("channel.changed", hook, {"config": {"from": {}, "to": {}}}) == (
        "Changed the settings of the webhook channel “on-call”"
    )
    assert words("channel.changed", {**hook, "secret": "url", "secret_change": "removed"}) == (
        "Removed the secret url of the webhook channel “on-call”"
    )
    assert words("channel.tested", hook) == "Sent a test message to the webhook channel “on-call”"
    assert words("channel.deleted", {"channel_id": "c"}) == (
        "Deleted the channel “unknown” (its secrets are destroyed)"
    )


def test_the_download_link_carries_the_filters_as_the_api_takes_them() -> None:
    job_id = uuid4()
    link = csv_link(
        {
            "job_id": job_id,
            "actor": "token:a&b",
            "actions": ["run.requested", "run.cancelled"],
            "since": datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
            "until": None,
        }
    )
    assert link == (
        f"/api/audit.csv?job_id={job_id}&actor=token%3Aa%26b"
        "&since=2026-11-30T09%3A00%3A00%2B00%3A00&action=run.requested&action=run.cancelled"
    )
    assert csv_link({"actor": None, "actions": None}) == "/api/audit.csv"
