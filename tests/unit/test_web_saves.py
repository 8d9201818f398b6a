"""A job's history grouped by save (interfaces.web.saves): one Save of the form that changes
several fields is one change on the History page, though the store holds an event per field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from domain.job import SECRET_SET
from interfaces.web.saves import group_saves

JOB = uuid4()
BOB = "token:bob"
T0 = datetime(2026, 11, 30, 14, 5, 9, tzinfo=UTC)


def entry(
    version: int,
    event: str,
    changes: dict[str, Any],
    *,
    ms: float,
    actor: str = "token:ada",
    job: UUID = JOB,
) -> dict[str, Any]:
    return {
        "job_id": job,
        "version": version,
        "job_name": "Sync",
        "event": event,
        "at": T0 + timedelta(milliseconds=ms),
        "actor": actor,
        "changes": changes,
    }


def c(before: Any, after: Any) -> dict[str, Any]:
    return {"from": before, "to": after}


def shape(saves: list[dict[str, Any]]) -> list[list[int]]:
    return [save["versions"] for save in saves]


def test_one_save_of_several_fields_is_one_change_with_every_row() -> None:
    saves = group_saves(
        [
            entry(1, "Registered", {"name": c(None, "Sync")}, ms=0),
            entry(2, "Renamed", {"name": c("Sync", "Sync 2")}, ms=60_000),
            entry(3, "LogLevelChanged", {"log_level": c("Info", "Verbose")}, ms=60_002),
            entry(4, "PoliciesChanged", {"retry_backoff_seconds": c(60, 120)}, ms=60_003),
        ]
    )
    assert shape(saves) == [[1], [2, 3, 4]]
    save = saves[1]
    assert (save["first_version"], save["version"], save["at"]) == (
        2,
        4,
        T0 + timedelta(milliseconds=60_003),
    )
    assert save["description"] == (
        "Renamed from “Sync” to “Sync 2”; log level changed from Info to Verbose; "
        "retry after (seconds) changed from 60 to 120"
    )
    assert [(r["label"], r["before"], r["after"]) for r in save["rows"]] == [
        ("Name", "Sync", "Sync 2"),
        ("Log level", "Info", "Verbose"),
        ("Retry after (seconds)", 60, 120),
    ]


def test_a_registration_with_secrets_is_one_change_naming_no_value() -> None:
    saves = group_saves(
        [
            entry(1, "Registered", {"name": c(None, "Sync")}, ms=0),
            entry(2, "SecretStored", {"secrets.API_KEY": c(None, SECRET_SET)}, ms=1),
            entry(3, "SecretStored", {"secrets.PASSWORD": c(None, SECRET_SET)}, ms=2),
        ]
    )
    assert shape(saves) == [[1, 2, 3]]
    assert saves[0]["description"] == "Created; secret API_KEY set; secret PASSWORD set"


def test_separate_saves_stay_separate() -> None:
    saves = group_saves(
        [
            entry(1, "Registered", {"name": c(None, "Sync")}, ms=0),
            # seconds later: another save
            entry(2, "LogLevelChanged", {"log_level": c("Info", "Debug")}, ms=5_000),
            # at once, but by someone else
            entry(3, "PoliciesChanged", {"max_retries": c(0, 1)}, ms=5_001, actor="token:bob"),
            # at once, by bob again, but a field his change already changed
            entry(4, "PoliciesChanged", {"max_retries": c(1, 2)}, ms=5_002, actor="token:bob"),
            # at once, but out of the order one save records changes in
            entry(5, "Renamed", {"name": c("Sync", "S")}, ms=5_003, actor="token:bob"),
            # a secret set on its own, and removed, are saves of their own
            entry(
                6, "SecretStored", {"secrets.K": c(None, SECRET_SET)}, ms=5_004, actor="token:bob"
            ),
            entry(
                7, "SecretStored", {"secrets.L": c(None, SECRET_SET)}, ms=5_005, actor="token:bob"
            ),
            entry(
                8, "SecretRemoved", {"secrets.K": c(SECRET_SET, None)}, ms=5_006, actor="token:bob"
            ),
            entry(9, "Deleted", {"deleted": c(False, True)}, ms=5_007, actor=BOB),
        ]
    )
    assert shape(saves) == [[1], [2], [3], [4], [5], [6], [7], [8], [9]]


def test_a_gap_in_versions_or_another_job_splits() -> None:
    other = uuid4()
    saves = group_saves(
        [
            entry(2, "Renamed", {"name": c("A", "B")}, ms=0),
            entry(4, "LogLevelChanged", {"log_level": c("Info", "Debug")}, ms=1),
            entry(5, "PoliciesChanged", {"max_retries": c(0, 1)}, ms=2, job=other),
        ]
    )
    assert shape(saves) == [[2], [4], [5]]


def test_a_schedule_row_reads_as_its_expression_and_zone() -> None:
    schedule = {"cron": "0 2 * * *", "timezone": "Europe/London"}
    (save,) = group_saves([entry(2, "Scheduled", {"schedule": c(None, schedule)}, ms=0)])
    assert save["rows"] == [
        {
            "field": "schedule",
            "label": "Schedule",
            "before": None,
            "after": "“0 2 * * *” in Europe/London",
        }
    ]
    assert save["description"] == "Schedule set to “0 2 * * *” in Europe/London"
