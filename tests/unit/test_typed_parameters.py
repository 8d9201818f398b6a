"""Typed parameters: a job's parameters schema is held to the subset a form can render, its
parameters (with the defaults) must satisfy it when saved, and every run request's overrides
are checked against it, each refusal naming every parameter at fault."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain import parameters_schema as typed
from domain.errors import InvalidInput
from domain.job import Job
from interfaces.web import run_form
from scheduler.scheduler import Scheduler
from tests.fakes import FakeClock, in_memory_ledger
from tests.unit.test_scheduler import drive, scheduled_runs

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "batch_size": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1000,
            "default": 100,
            "description": "rows per batch",
        },
        "mode": {"type": "string", "enum": ["full", "delta"], "default": "delta"},
        "dry_run": {"type": "boolean", "default": False},
        "label": {"type": "string", "maxLength": 10, "pattern": "^[a-z]*$"},
        "ratio": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["label"],
}
ALL = ["batch_size", "mode", "dry_run", "label", "ratio"]


@pytest.fixture
def app():
    ledger = in_memory_ledger()
    yield ledger
    ledger.close()


def register(app, **kwargs: Any) -> Job:
    fields: dict[str, Any] = {
        "name": "Import",
        "job_type": "command",
        "program": {"argv": ["true"]},
        "actor": "alice",
        "parameters_schema": SCHEMA,
        "parameters": {"label": "nightly"},
        "policies": {"overridable_parameters": ALL},
    }
    return app.register_job(**{**fields, **kwargs})


def fields_of(error: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [e.field for e in error.value.errors]


def stored_events(app) -> int:
    return len(app.recorder.select_notifications(start=1, limit=10_000))


# The schema itself.


def test_a_schema_outside_the_subset_is_refused_naming_every_place():
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "array"},
            "b": {"type": "string", "format": "email", "minimum": 1},
            "c": {"type": "integer", "enum": ["x"], "minimum": 5, "maximum": 1},
            "d": "text",
        },
        "required": ["a", "zzz"],
        "oneOf": [],
    }
    with pytest.raises(InvalidInput) as refused:
        typed.check_subset(schema)
    assert fields_of(refused) == [
        "parameters_schema.oneOf",
        "parameters_schema.properties.a.type",
        "parameters_schema.properties.b.format",
        "parameters_schema.properties.b.minimum",
        "parameters_schema.properties.c.enum",
        "parameters_schema.properties.c.minimum",
        "parameters_schema.properties.d",
        "parameters_schema.required",
    ]


def test_a_schema_must_be_an_object_schema():
    with pytest.raises(InvalidInput) as refused:
        typed.check_subset({"type": "string"})
    assert fields_of(refused) == ["parameters_schema.type"]
    assert typed.check_subset(SCHEMA) == SCHEMA


def test_an_invalid_json_schema_and_a_default_it_refuses_are_named(app):
    with pytest.raises(InvalidInput) as refused:
        register(app, parameters_schema={"type": "object", "properties": {"n": {"type": 5}}})
    assert fields_of(refused) == ["parameters_schema.properties.n.type"]
    assert "JSON Schema" in refused.value.message
    bad_default = {
        "type": "object",
        "properties": {"n": {"type": "integer", "maximum": 3, "default": 9}},
    }
    with pytest.raises(InvalidInput) as refused:
        register(app, parameters_schema=bad_default, parameters={})
    assert fields_of(refused) == ["parameters_schema.properties.n.default"]
    assert refused.value.message == "must be at most 3"
    assert stored_events(app) == 0


def test_defaults_and_the_form_specs_follow_the_schema():
    assert typed.defaults(SCHEMA) == {"batch_size": 100, "mode": "delta", "dry_run": False}
    assert typed.defaults(None) == {}
    specs = {spec.name: spec for spec in typed.specs(SCHEMA)}
    assert list(specs) == ALL
    assert specs["mode"].enum == ("full", "delta")
    assert specs["batch_size"].maximum == 1000 and specs["batch_size"].description
    assert specs["label"].required and not specs["label"].has_default


# The job's own parameters, on save.


def test_the_jobs_parameters_are_checked_on_register_naming_each_one(app):
    with pytest.raises(InvalidInput) as refused:
        register(app, parameters={"batch_size": 0, "mode": "all", "dry_run": "yes"})
    assert fields_of(refused) == [  # in the schema's order
        "parameters.batch_size",
        "parameters.mode",
        "parameters.dry_run",
        "parameters.label",
    ]
    messages = {e.field: e.message for e in refused.value.errors}
    assert messages["parameters.batch_size"] == "must be at least 1"
    assert messages["parameters.dry_run"] == "must be true or false"
    assert messages["parameters.label"] == "is required"
    assert messages["parameters.mode"] == 'must be one of "full", "delta"'
    assert stored_events(app) == 0


def test_parameters_are_stored_as_given_and_runs_get_the_defaults(app):
    job = register(app)
    assert job.parameters == {"label": "nightly"}
    run = app.request_run(job.id, actor="bob")
    assert run.parameters == {
        "batch_size": 100,
        "mode": "delta",
        "dry_run": False,
        "label": "nightly",
    }


def test_a_new_schema_is_checked_against_the_parameters_the_job_has(app):
    job = register(app)
    stricter = {**SCHEMA, "properties": {**SCHEMA["properties"], "label": {"type": "integer"}}}
    with pytest.raises(InvalidInput) as refused:
        app.update_job(job.id, {"parameters_schema": stricter}, actor="alice")
    assert fields_of(refused) == ["parameters.label"]
    changed = app.update_job(
        job.id, {"parameters_schema": stricter, "parameters": {"label": 7}}, actor="alice"
    )
    assert changed.parameters_schema == stricter
    history = [type(e).__name__ for e in app.job_history(job.id)]
    assert history[-2:] == ["ParametersSchemaChanged", "ParametersChanged"]
    assert app.job_history(job.id)[-2].changes()["parameters_schema"]["to"] == stricter


def test_removing_the_schema_frees_the_parameters(app):
    job = register(app)
    app.update_job(job.id, {"parameters_schema": None}, actor="alice")
    job = app.update_job(job.id, {"parameters": {"anything": [1, 2]}}, actor="alice")
    assert job.parameters_schema is None
    assert app.request_run(job.id, actor="bob").parameters == {"anything": [1, 2]}


def test_a_clone_keeps_the_schema(app):
    job = register(app)
    clone, _ = app.clone_job(job.id, name="Import copy", actor="alice")
    assert clone.parameters_schema == SCHEMA


# Overrides, at every run request.


def test_run_now_overrides_are_checked_naming_each_parameter_and_nothing_runs(app):
    job = register(app)
    before = stored_events(app)
    with pytest.raises(InvalidInput) as refused:
        app.request_run(
            job.id,
            actor="bob",
            parameters={"batch_size": 5000, "ratio": "half", "label": "UPPER"},
        )
    assert fields_of(refused) == ["parameters.batch_size", "parameters.label", "parameters.ratio"]
    assert "5000" not in str(refused.value) and "UPPER" not in str(refused.value)
    assert stored_events(app) == before
    run = app.request_run(job.id, actor="bob", parameters={"batch_size": 7, "mode": "full"})
    assert run.parameters["batch_size"] == 7 and run.parameters["mode"] == "full"
    assert sorted(run.overrides) == ["batch_size", "mode"]


def test_an_administrator_is_held_to_the_schema_too(app):
    job = register(app, policies={})
    with pytest.raises(InvalidInput) as refused:
        app.request_run(job.id, actor="root", parameters={"dry_run": 1}, override_any=True)
    assert fields_of(refused) == ["parameters.dry_run"]


def test_a_webhook_override_is_named_as_the_body_sent_it(app):
    job = register(app)
    trigger, _token = app.create_trigger(job.id, "ci", actor="alice")
    with pytest.raises(InvalidInput) as refused:
        app.request_webhook_run(trigger, app.get_job(job.id), {"mode": "x"}, client="10.0.0.1")
    assert fields_of(refused) == ["body.mode"]


def test_a_rerun_keeps_the_defaults_without_counting_them_as_overrides(app):
    job = register(app, policies={})  # nothing open to operators
    run = app.request_run(job.id, actor="bob")
    again = app.rerun(run.id, actor="bob")
    assert again.parameters == run.parameters and again.overrides == []


# Scheduled runs get the defaults too, as the schema changes.


def test_scheduled_runs_get_the_schemas_defaults_as_it_changes(app):
    start = datetime(2031, 3, 3, 10, 0, 30, tzinfo=UTC)
    clock = FakeClock(start)
    job = register(app, schedule={"cron": "* * * * *", "timezone": "UTC"}, policies={})
    scheduler = Scheduler(app, clock)
    drive(scheduler, clock, start + timedelta(minutes=1))
    first = scheduled_runs(app, job.id)[-1]
    assert first.parameters == {
        "batch_size": 100,
        "mode": "delta",
        "dry_run": False,
        "label": "nightly",
    }
    bigger = {**SCHEMA, "properties": {**SCHEMA["properties"], "mode": {"type": "string"}}}
    bigger["properties"]["batch_size"] = {"type": "integer", "default": 500}
    app.update_job(job.id, {"parameters_schema": bigger}, actor="alice")
    drive(scheduler, clock, start + timedelta(minutes=2))
    latest = scheduled_runs(app, job.id)[-1]
    assert latest.parameters == {"batch_size": 500, "dry_run": False, "label": "nightly"}


# The typed form's reading of what a browser sends.


def test_the_run_form_sends_only_changed_editable_values_typed():
    job = {
        "parameters_schema": SCHEMA,
        "parameters": {"label": "nightly"},
        "policies": {"overridable_parameters": ["batch_size", "dry_run", "ratio", "label"]},
    }
    form = {
        "param.batch_size": "250",
        "param.dry_run": "on",
        "param.ratio": "",  # blank: the run gets the job's value (here none)
        "param.label": "nightly",  # unchanged: not an override
        "param.mode": "full",  # not open to this operator: ignored
    }
    overrides, submitted = run_form.read_form(job, False, form)
    assert overrides == {"batch_size": 250, "dry_run": True}
    assert submitted == {"batch_size": "250", "dry_run": "on", "ratio": "", "label": "nightly"}
    overrides, _ = run_form.read_form(job, False, {"param.batch_size": "ten", "param.ratio": "1"})
    assert overrides == {"batch_size": "ten", "ratio": 1, "label": ""}
    assert run_form.read_form(job, True, {"param.mode": "full"})[0]["mode"] == "full"
    fields = {f.spec.name: f for f in run_form.run_fields(job, False)}
    assert fields["batch_size"].text == "100" and fields["batch_size"].editable
    assert fields["mode"].text == "delta" and not fields["mode"].editable
    assert fields["dry_run"].text == ""  # a checkbox left unticked
