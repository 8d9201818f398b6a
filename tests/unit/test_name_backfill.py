"""Jobs registered before names were reserved: once per store, the first job with a name
gets its reservation, a later job sharing the name keeps running but holds nothing, and a
new job can no longer take a name a live job already has."""

from __future__ import annotations

import pytest

from application.name_backfill import reserve_legacy_names
from domain import job as job_model
from domain.errors import NameTaken
from domain.job_name import JobName, job_name_id
from tests.fakes import in_memory_ledger


@pytest.fixture
def ledger():
    app = in_memory_ledger()
    yield app
    app.close()


def legacy_job(ledger, name):
    """A job saved as the service did before the rule: no name reservation."""
    job = job_model.register(
        name=name, job_type="command", program={"argv": ["true"]}, actor="alice"
    )
    ledger.save(job)
    return job


def holder(ledger, name):
    reservation = ledger.repository.get(job_name_id(name))
    assert isinstance(reservation, JobName)
    return reservation.holder


def test_the_first_job_with_a_name_keeps_it_and_later_ones_are_counted_as_shared(ledger):
    first = legacy_job(ledger, "Nightly sync")
    legacy_job(ledger, "nightly SYNC ")
    other = legacy_job(ledger, "Backup")

    result = reserve_legacy_names(ledger)

    assert (result.reserved, result.shared, result.skipped) == (2, 1, False)
    assert holder(ledger, "Nightly sync") == first.id
    assert holder(ledger, "backup") == other.id
    with pytest.raises(NameTaken):
        ledger.register_job(
            name="NIGHTLY SYNC", job_type="command", program={"argv": ["true"]}, actor="bob"
        )


def test_a_renamed_legacy_job_reserves_its_current_name_and_a_deleted_one_nothing(ledger):
    renamed = legacy_job(ledger, "Old name")
    renamed.rename("New name", "alice")
    ledger.save(renamed)
    gone = legacy_job(ledger, "Gone")
    gone.delete("alice")
    ledger.save(gone)

    reserve_legacy_names(ledger)

    assert holder(ledger, "New name") == renamed.id
    ledger.register_job(  # neither the old name nor the deleted job's is held
        name="Old name", job_type="command", program={"argv": ["true"]}, actor="bob"
    )
    ledger.register_job(name="gone", job_type="command", program={"argv": ["true"]}, actor="bob")


def test_it_runs_once_per_store_and_leaves_reserved_names_alone(ledger):
    kept = ledger.register_job(
        name="Report", job_type="command", program={"argv": ["true"]}, actor="alice"
    )
    assert reserve_legacy_names(ledger).reserved == 0
    legacy_job(ledger, "Late")  # saved after the walk: the walk is not repeated
    written = ledger.recorder.max_notification_id()

    assert reserve_legacy_names(ledger).skipped
    assert ledger.recorder.max_notification_id() == written
    assert holder(ledger, "report") == kept.id


def test_a_job_sharing_a_name_records_who_holds_it_in_its_history(ledger):
    first = legacy_job(ledger, "Nightly sync")
    second = legacy_job(ledger, "Nightly sync")

    reserve_legacy_names(ledger)

    flagged = ledger.get_job(second.id)
    assert flagged.version == second.version + 1
    last = ledger.job_history(second.id)[-1]
    assert type(last).__name__ == "NameShared"
    assert last.holder == first.id
    assert ledger.get_job(first.id).version == first.version  # the holder is not touched
