"""Job names are unique, compared trimmed and case-insensitively, on create and on rename;
a deleted job's name is free again; a refusal writes nothing."""

from __future__ import annotations

import pytest

from domain.errors import Conflict, NameTaken
from domain.job_name import JobName, job_name_id
from tests.fakes import in_memory_ledger


@pytest.fixture
def ledger():
    app = in_memory_ledger()
    yield app
    app.close()


def register(ledger, name="Nightly sync"):
    return ledger.register_job(
        name=name, job_type="command", program={"argv": ["true"]}, actor="alice"
    )


def written(ledger) -> int:
    return ledger.recorder.max_notification_id() or 0


@pytest.mark.parametrize(
    "name", ["Nightly sync", "nightly SYNC", "  Nightly sync\u00a0", "NIGHTLY SYNC"]
)
def test_a_second_job_with_the_same_name_is_refused_and_nothing_is_written(ledger, name):
    register(ledger)
    before = written(ledger)
    with pytest.raises(NameTaken) as raised:
        register(ledger, name)
    assert isinstance(raised.value, Conflict)
    assert raised.value.field == "name"
    assert "Nightly sync" in str(raised.value) or name.strip() in str(raised.value)
    assert written(ledger) == before


def test_renaming_onto_a_taken_name_is_refused_and_nothing_is_written(ledger):
    register(ledger, "Backup")
    job = register(ledger, "Report")
    before = written(ledger)
    with pytest.raises(NameTaken):
        ledger.update_job(job.id, {"name": " backup ", "description": "x"}, actor="bob")
    assert written(ledger) == before
    assert ledger.get_job(job.id).name == "Report"
    assert ledger.get_job(job.id).description == ""


def test_a_renamed_jobs_old_name_is_free_and_its_new_name_taken(ledger):
    job = register(ledger, "Report")
    ledger.update_job(job.id, {"name": "Monthly report"}, actor="bob")
    register(ledger, "report")  # the old name, free again
    with pytest.raises(NameTaken):
        register(ledger, "MONTHLY REPORT")


def test_a_job_may_change_only_the_case_of_its_own_name(ledger):
    job = register(ledger, "Report")
    ledger.update_job(job.id, {"name": "REPORT "}, actor="bob")
    assert ledger.get_job(job.id).name == "REPORT"
    with pytest.raises(NameTaken):
        register(ledger, "report")


def test_a_deleted_jobs_name_is_free_again_and_can_be_taken_again(ledger):
    first = register(ledger)
    ledger.delete_job(first.id, actor="alice")
    second = register(ledger, "nightly sync")
    reservation = ledger.repository.get(job_name_id("Nightly sync"))
    assert isinstance(reservation, JobName)
    assert reservation.holder == second.id
    assert reservation.version == 3  # reserved, released, taken: one stream per name
    with pytest.raises(NameTaken):
        register(ledger)
    # And a job renamed onto a released name takes it too.
    ledger.delete_job(second.id, actor="alice")
    other = register(ledger, "Other")
    ledger.update_job(other.id, {"name": "Nightly sync"}, actor="alice")
    with pytest.raises(NameTaken):
        register(ledger)


def test_a_job_registered_before_names_were_reserved_can_still_be_renamed_and_deleted(ledger):
    job = register(ledger, "Legacy")
    # As if it was registered before this change: its name has no reservation.
    legacy = ledger.repository.get(job_name_id("Legacy"))
    legacy.release(job.id)
    ledger.save(legacy)
    twin = register(ledger, "legacy")  # a duplicate such a store may already hold
    ledger.update_job(job.id, {"name": "Legacy 2"}, actor="bob")
    ledger.delete_job(job.id, actor="bob")
    # The twin keeps its name: deleting another job of that name did not release it.
    assert ledger.repository.get(job_name_id("Legacy")).holder == twin.id
    register(ledger, "Legacy 2")
