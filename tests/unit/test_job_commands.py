from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from domain.errors import Conflict, InvalidInput, NotFound
from domain.job import Job
from tests.fakes import in_memory_ledger

COMMAND = {"argv": ["echo", "hello"]}


@pytest.fixture
def ledger():
    app = in_memory_ledger()
    yield app
    app.close()


def register(ledger, **overrides):
    fields = dict(name="Nightly sync", job_type="command", program=COMMAND, actor="alice")
    fields.update(overrides)
    return ledger.register_job(**fields)


def test_registers_a_job_with_defaults(ledger):
    job = register(ledger, parameters={"tenant": "acme"})
    stored = ledger.get_job(job.id)
    assert stored.name == "Nightly sync"
    assert stored.parameters == {"tenant": "acme"}
    assert stored.log_level == "Info"
    assert stored.enabled is True
    assert stored.policies["overlap"] == "skip"
    assert stored.policies["misfire"] == "run_once"
    assert stored.version == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "  "}, "name"),
        ({"job_type": "cobol"}, "job_type"),
        ({"program": {"argv": []}}, "program.argv"),
        ({"program": {"script": "x"}}, "program"),
        ({"parameters": ["not", "an", "object"]}, "parameters"),
        ({"parameters": {"blob": "x" * 70_000}}, "parameters"),
        ({"log_level": "Loud"}, "log_level"),
        ({"policies": {"overlap": "sometimes"}}, "overlap"),
        ({"policies": {"timeout_seconds": -5}}, "timeout_seconds"),
        ({"secrets": {"bad name": "x"}}, "secret.name"),
        ({"secrets": {"TOKEN": ""}}, "secret.value"),
        ({"schedule": "every day"}, "schedule"),
    ],
)
def test_refuses_bad_input_naming_the_field_and_writes_nothing(ledger, overrides, field):
    before = ledger.recorder.max_notification_id()
    with pytest.raises(InvalidInput) as caught:
        register(ledger, **overrides)
    assert caught.value.field == field
    assert ledger.recorder.max_notification_id() == before


def test_each_change_is_its_own_event_carrying_actor_and_previous_value(ledger):
    job = register(ledger)
    ledger.update_job(
        job.id,
        {"name": "Hourly sync", "parameters": {"a": 1}, "log_level": "Warning", "enabled": False},
        actor="bob",
        expected_version=1,
    )
    history = ledger.job_history(job.id)
    assert [type(e).__name__ for e in history] == [
        "Registered",
        "Renamed",
        "ParametersChanged",
        "LogLevelChanged",
        "Disabled",
    ]
    assert {e.actor for e in history[1:]} == {"bob"}
    assert history[1].changes() == {"name": {"from": "Nightly sync", "to": "Hourly sync"}}
    assert history[3].changes() == {"log_level": {"from": "Info", "to": "Warning"}}


def test_a_stale_expected_version_is_refused_as_a_conflict(ledger):
    job = register(ledger)
    ledger.update_job(job.id, {"name": "First"}, actor="alice", expected_version=1)
    with pytest.raises(Conflict) as caught:
        ledger.update_job(job.id, {"name": "Second"}, actor="bob", expected_version=1)
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    assert ledger.get_job(job.id).name == "First"


def test_an_unchanged_value_records_no_event(ledger):
    job = register(ledger)
    ledger.update_job(job.id, {"name": "Nightly sync", "enabled": True}, actor="alice")
    assert ledger.get_job(job.id).version == 1


def test_secrets_are_stored_encrypted_and_audited_by_name_only(ledger):
    job = register(ledger, secrets={"API_KEY": "s3cr3t-value"})
    ledger.store_secret(job.id, "API_KEY", "rotated-value", actor="bob")
    events = ledger.job_history(job.id)
    dumped = repr([e.__dict__ for e in events]) + repr(ledger.get_job(job.id))
    assert "s3cr3t-value" not in dumped and "rotated-value" not in dumped
    assert events[1].changes() == {"secrets.API_KEY": {"from": None, "to": "(set)"}}
    assert events[2].changes() == {"secrets.API_KEY": {"from": "(set)", "to": "(set)"}}
    names = ledger.get_job(job.id).secret_names()
    assert [(s["name"], s["updated_by"]) for s in names] == [("API_KEY", "bob")]


def test_only_the_run_time_port_decrypts_secrets(ledger):
    job = register(ledger, secrets={"API_KEY": "s3cr3t-value"})
    run = ledger.request_run(job.id, actor="alice")
    assert ledger.secrets_for_run(run) == {"API_KEY": "s3cr3t-value"}


def test_a_secret_value_with_a_nul_is_refused_without_echoing_it(ledger):
    # No process can receive a NUL in its environment: the job could never run.
    job = register(ledger)
    with pytest.raises(InvalidInput) as raised:
        ledger.store_secret(job.id, "API_KEY", "s3cr3t\x00value", actor="alice")
    assert raised.value.field == "secret.value" and "s3cr3t" not in str(raised.value)
    assert ledger.get_job(job.id).version == job.version


def test_removing_an_unknown_secret_is_not_found(ledger):
    job = register(ledger)
    with pytest.raises(NotFound):
        ledger.remove_secret(job.id, "NOPE", actor="alice")


def test_deleting_a_job_shreds_its_key_and_hides_it(ledger):
    job = register(ledger, secrets={"API_KEY": "s3cr3t-value"})
    run = ledger.request_run(job.id, actor="alice")
    ledger.delete_job(job.id, actor="alice")
    with pytest.raises(NotFound):
        ledger.get_job(job.id)
    with pytest.raises(NotFound):
        ledger.update_job(job.id, {"name": "x"}, actor="alice")
    from domain.errors import SecretUnavailable

    with pytest.raises(SecretUnavailable):
        ledger.secrets_for_run(run)


def test_the_job_can_be_seen_as_it_was_at_a_past_version_or_time(ledger):
    job = register(ledger)
    ledger.update_job(job.id, {"name": "Renamed"}, actor="alice")
    ledger.update_job(job.id, {"parameters": {"x": 1}}, actor="alice")
    assert ledger.job_at(job.id, version=2).name == "Renamed"
    assert ledger.job_at(job.id, version=2).parameters == {}
    history = ledger.job_history(job.id)
    at_rename = history[1].timestamp
    assert ledger.job_at(job.id, at=at_rename).version == 2
    with pytest.raises(InvalidInput) as caught:
        ledger.job_at(job.id, at=history[0].timestamp - timedelta(seconds=1))
    assert caught.value.field == "at"


def test_a_whole_second_includes_the_events_within_it_and_a_fraction_is_exact(ledger, monkeypatch):
    # Pages and the CLI show times to the second: the job created at .6 s past a second
    # exists "as at" that second; a time with a fraction stays exact.
    import eventsourcing.domain

    now = [datetime(2026, 11, 25, 9, 0, 0, 600_000, tzinfo=UTC)]
    monkeypatch.setattr(eventsourcing.domain, "datetime_now_with_tzinfo", lambda: now[0])
    job = register(ledger)
    now[0] = now[0].replace(microsecond=900_000)
    ledger.update_job(job.id, {"name": "Renamed"}, actor="alice")
    second = datetime(2026, 11, 25, 9, 0, 0, tzinfo=UTC)
    assert ledger.job_at(job.id, at=second).version == 2
    assert ledger.job_at(job.id, at=second.astimezone(timezone(timedelta(hours=1)))).version == 2
    assert ledger.job_at(job.id, at=second.replace(microsecond=700_000)).version == 1
    with pytest.raises(InvalidInput) as caught:
        ledger.job_at(job.id, at=second.replace(microsecond=599_999))
    assert caught.value.field == "at"
    with pytest.raises(InvalidInput):
        ledger.job_at(job.id, at=second - timedelta(seconds=1))


def test_unknown_jobs_are_not_found(ledger):
    with pytest.raises(NotFound):
        ledger.get_job(uuid4())
    with pytest.raises(NotFound):
        ledger.job_history(uuid4())


def test_repr_of_a_job_leaves_out_ciphertexts(ledger):
    job = register(ledger, secrets={"API_KEY": "s3cr3t-value"})
    ciphertext = job.secrets["API_KEY"]["ciphertext"]
    assert ciphertext not in repr(job)
    assert isinstance(ledger.get_job(job.id), Job)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "bad\x00name"}, "name"),
        ({"description": "nul \x00 here"}, "description"),
        ({"parameters": {"big": 2**64}}, "parameters.big"),
        ({"parameters": {"text": "a\x00b"}}, "parameters.text"),
        ({"program": {"argv": ["echo", "a\x00b"]}}, "program.argv[1]"),
    ],
)
def test_values_no_store_could_keep_are_refused_by_field(changes: dict, field: str) -> None:
    """Whatever the entry point (API, CLI, scheduler), a NUL or a 65-bit integer is bad
    input naming its field, never an event a PostgreSQL view could not apply."""
    app = in_memory_ledger()
    job = app.register_job(name="ok", job_type="command", program={"argv": ["true"]}, actor="t")
    with pytest.raises(InvalidInput) as raised:
        app.update_job(job.id, changes, actor="t")
    assert raised.value.field == field
    assert app.get_job(job.id).version == job.version
