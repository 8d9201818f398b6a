"""Jobs in folders and with tags; cloning a job (never its secrets); rerunning a run with
the same parameters, within what the rerunning person may override."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain import values
from domain.errors import InvalidInput, NameTaken, NotPermitted
from projections.audit import AuditChanges, AuditProjection
from tests.fakes import in_memory_ledger

SECRET = "clone-must-never-copy-this-9d2e"


@pytest.fixture
def app():
    ledger = in_memory_ledger()
    yield ledger
    ledger.close()


def register(app, name="Invoice sync", **kwargs):
    args = {
        "job_type": "command",
        "program": {"argv": ["python3", "sync.py"]},
        "actor": "alice",
        "parameters": {"tenant": "acme", "batch": 50},
    }
    return app.register_job(name=name, **{**args, **kwargs})


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        ("Customers/Contoso", "Customers/Contoso"),
        ("  Customers/Contoso  ", "Customers/Contoso"),
        ("", ""),
        (None, ""),
        ("Über uns/Büro 2", "Über uns/Büro 2"),
    ],
)
def test_a_folder_is_a_path_of_non_empty_segments(folder, expected):
    assert values.folder(folder) == expected


@pytest.mark.parametrize(
    "folder", ["/Customers", "Customers/", "Customers//Contoso", "A/ /B", "A /B", "x" * 201, 3]
)
def test_a_bad_folder_is_refused_naming_the_field(folder):
    with pytest.raises(InvalidInput) as refused:
        values.folder(folder)
    assert refused.value.field == "folder"


def test_tags_are_short_words_at_most_twenty_without_duplicates():
    assert values.tags(["billing", "nightly", "billing", "v1.2", "a:b", "é_x-1"]) == [
        "billing",
        "nightly",
        "v1.2",
        "a:b",
        "é_x-1",
    ]
    assert values.tags(None) == []
    for bad, field in (
        (["ok", ""], "tags[1]"),
        (["has space"], "tags[0]"),
        (["x" * 41], "tags[0]"),
        ([7], "tags[0]"),
        ("billing", "tags"),
        ([f"t{i}" for i in range(21)], "tags"),
    ):
        with pytest.raises(InvalidInput) as refused:
            values.tags(bad)
        assert refused.value.field == field


def test_every_bad_field_is_named_at_once_and_nothing_is_registered(app):
    with pytest.raises(InvalidInput) as refused:
        register(app, folder="A//B", tags=["ok", "not ok"], log_level="Loud")
    assert {e.field for e in refused.value.errors} == {"folder", "tags[1]", "log_level"}
    assert app.recorder.max_notification_id() in (None, 0)


def test_folder_and_tags_are_set_changed_and_audited_as_their_own_events(app):
    job = register(app, folder="Customers/Contoso", tags=["billing"])
    assert (job.folder, job.tags) == ("Customers/Contoso", ["billing"])
    app.update_job(job.id, {"folder": "Customers/Fabrikam", "tags": ["billing", "eu"]}, actor="bob")
    app.update_job(job.id, {"folder": "Customers/Fabrikam", "tags": ["billing", "eu"]}, actor="bob")
    history = app.job_history(job.id)
    assert [type(e).__name__ for e in history] == ["Registered", "FolderChanged", "TagsChanged"]
    assert history[0].changes()["folder"] == {"from": None, "to": "Customers/Contoso"}
    assert history[1].changes() == {
        "folder": {"from": "Customers/Contoso", "to": "Customers/Fabrikam"}
    }
    assert history[2].changes() == {"tags": {"from": ["billing"], "to": ["billing", "eu"]}}
    app.update_job(job.id, {"folder": None, "tags": []}, actor="bob")
    again = app.get_job(job.id)
    assert (again.folder, again.tags) == ("", [])
    with pytest.raises(InvalidInput) as refused:
        app.update_job(job.id, {"folder": "/x", "tags": ["a b"]}, actor="bob")
    assert {e.field for e in refused.value.errors} == {"folder", "tags[0]"}


def test_a_job_registered_before_folders_loads_with_none(app):
    """A Registered event stored before folder, tags and cloned_from existed decodes, and
    the job it makes has no folder and no tags."""
    from dataclasses import replace

    job = register(app)
    stored = app.mapper.to_stored_event(app.job_history(job.id)[0])
    state = app.mapper.transcoder.decode(stored.state)
    for key in ("folder", "tags", "cloned_from"):
        del state[key]
    old = replace(stored, state=app.mapper.transcoder.encode(state))
    event = app.mapper.to_domain_event(old)
    loaded = event.mutate(None)
    assert (loaded.folder, loaded.tags, loaded.cloned_from) == ("", [], None)
    assert "folder" not in event.changes()


def test_a_clone_has_the_configuration_and_no_secrets(app):
    source = register(
        app,
        description="Nightly PSA sync",
        schedule={"cron": "0 2 * * *", "timezone": "Europe/London"},
        log_level="Warning",
        secrets={"API_KEY": SECRET, "OTHER": SECRET + "2"},
        policies={"max_retries": 2, "overridable_parameters": ["batch"]},
        folder="Customers/Contoso",
        tags=["billing"],
    )
    clone, to_set = app.clone_job(source.id, name="Invoice sync (Fabrikam)", actor="bob")
    assert to_set == ["API_KEY", "OTHER"]
    assert clone.secrets == {} and clone.id != source.id
    same = ("description", "job_type", "program", "parameters", "schedule", "log_level")
    assert {k: getattr(clone, k) for k in same} == {k: getattr(source, k) for k in same}
    assert clone.policies == source.policies
    assert (clone.folder, clone.tags) == ("Customers/Contoso", ["billing"])
    assert clone.enabled is False  # it would run without its secrets
    assert clone.created_by == "bob" and clone.cloned_from == source.id
    registered = app.job_history(clone.id)[0]
    assert registered.changes()["cloned_from"]["to"] == str(source.id)
    assert SECRET not in repr(app.job_history(clone.id))
    plain, none_to_set = app.clone_job(clone.id, name="Without secrets", actor="bob")
    assert none_to_set == [] and plain.enabled is False  # as its source is


def test_a_clone_of_a_job_without_secrets_keeps_it_enabled_and_a_taken_name_is_refused(app):
    source = register(app)
    clone, _ = app.clone_job(source.id, name="copy", actor="bob")
    assert clone.enabled is True
    with pytest.raises(NameTaken):
        app.clone_job(source.id, name="Invoice SYNC", actor="bob")
    with pytest.raises(InvalidInput) as refused:
        app.clone_job(source.id, name="", actor="bob")
    assert refused.value.field == "name"


def test_a_rerun_repeats_the_runs_parameters_and_links_to_it(app):
    job = register(app, policies={"overridable_parameters": ["batch"]})
    first = app.request_run(job.id, actor="carol", parameters={"batch": 7})
    again = app.rerun(first.id, actor="dave")
    assert again.id != first.id and again.rerun_of == first.id
    assert again.trigger == "rerun" and again.requested_by == "dave"
    assert again.parameters == {"tenant": "acme", "batch": 7}
    assert again.overrides == ["batch"]
    stored = app.get_run(again.id)  # through the store's encoding
    assert stored.rerun_of == first.id and stored.trigger == "rerun"


def test_a_rerun_after_the_jobs_parameters_changed_needs_an_administrator(app):
    job = register(app)
    first = app.request_run(job.id, actor="carol")
    app.update_job(job.id, {"parameters": {"tenant": "globex", "batch": 50}}, actor="alice")
    with pytest.raises(NotPermitted) as refused:
        app.rerun(first.id, actor="dave")
    assert refused.value.field == "parameters.tenant"
    assert "acme" not in str(refused.value)  # names the parameter, never its value
    by_admin = app.rerun(first.id, actor="alice", override_any=True)
    assert by_admin.parameters == {"tenant": "acme", "batch": 50}
    assert by_admin.overrides == ["tenant"]
    # Opened to overrides, an operator may resend it too.
    app.update_job(job.id, {"overridable_parameters": ["tenant"]}, actor="alice")
    assert app.rerun(first.id, actor="dave").parameters["tenant"] == "acme"


def test_a_rerun_is_audited_as_a_run_request_naming_the_run_it_repeats(app):
    job = register(app)
    first = app.request_run(job.id, actor="carol")
    again = app.rerun(first.id, actor="dave")
    changes = AuditChanges()
    projection = AuditProjection.__new__(AuditProjection)
    for event in [*app.events.get(first.id), *app.events.get(again.id)]:
        projection.fold(changes, event)
    requested = [row for row in changes.rows if row["action"] == "run.requested"]
    assert [row["actor"] for row in requested] == ["carol", "dave"]
    assert requested[1]["details"]["rerun_of"] == str(first.id)
    assert requested[1]["details"]["trigger"] == "rerun"
    assert UUID(requested[1]["details"]["run_id"]) == again.id
