"""What the run page says about a run, in proper sentences for every status."""

from __future__ import annotations

from typing import Any

import pytest

from domain.run_status import RunStatus
from interfaces.web.run_view import empty_log_sentence, status_sentence


@pytest.mark.parametrize(
    ("run", "sentence"),
    [
        ({"status": "queued"}, "This run is waiting for a worker."),
        ({"status": "running", "worker": "w-1"}, "This run is running on worker w-1."),
        (
            {"status": "running", "worker": "w-1", "cancel_requested_by": "token:ops"},
            "This run is running on worker w-1. Cancel requested by token:ops.",
        ),
        ({"status": "succeeded"}, "This run succeeded."),
        ({"status": "failed", "exit_code": 3}, "This run failed with exit code 3."),
        ({"status": "failed", "exit_code": None}, "This run failed."),
        ({"status": "timed_out"}, "This run timed out."),
        ({"status": "cancelled", "cancel_requested_by": "bob"}, "This run was cancelled by bob."),
        ({"status": "skipped"}, "This run was skipped."),
        ({"status": "abandoned"}, "This run was abandoned."),
    ],
)
def test_each_status_reads_as_a_sentence(run: dict[str, Any], sentence: str) -> None:
    assert status_sentence(run) == sentence


def test_every_status_has_its_own_sentence() -> None:
    said = [status_sentence({"status": s, "worker": "w"}) for s in RunStatus]
    assert len(set(said)) == len(RunStatus)
    assert not any(" is succeeded" in s or " is failed" in s for s in said)


@pytest.mark.parametrize(
    ("run", "min_level", "sentence"),
    [
        ({"status": "running"}, "", "No log entries yet."),
        ({"status": "queued"}, "Warning", "No log entries at Warning or above yet."),
        ({"status": "failed", "discarded_entries": 0}, "", "This run wrote no log entries."),
        (
            {"status": "succeeded", "discarded_entries": 1, "log_level": "Info"},
            "",
            "This run wrote no log entries. 1 entry below Info was discarded.",
        ),
        (
            {"status": "succeeded", "discarded_entries": 5, "log_level": "Error"},
            "",
            "This run wrote no log entries. 5 entries below Error were discarded.",
        ),
        ({"status": "succeeded"}, "Error", "No log entries at Error or above."),
    ],
)
def test_an_empty_log_says_whether_more_may_come(
    run: dict[str, Any], min_level: str, sentence: str
) -> None:
    assert empty_log_sentence(run, min_level) == sentence


def test_a_log_deleted_by_retention_says_so_rather_than_that_the_run_wrote_nothing() -> None:
    run = {"status": "failed", "log_purged_at": "2026-01-01", "log_purged_entries": 1200}
    assert empty_log_sentence(run, "") == "This run's log (1200 entries) was deleted by retention."
