"""Audit events in words (interfaces.web.wording): what each change did, and field labels
that are the job form's own."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from domain.job import SECRET_SET
from interfaces.web.wording import FIELD_LABELS, describe_event, describe_events, field_label

FORM = Path(__file__).resolve().parents[2] / "interfaces/web/templates/job_fields.html"


def change(before: Any, after: Any) -> dict[str, Any]:
    return {"from": before, "to": after}


@pytest.mark.parametrize(
    ("event", "changes", "words"),
    [
        ("Registered", {"name": change(None, "Sync")}, "created"),
        (
            "NameShared",
            {"name_shared_with": change(None, "0b6d2c1e-0000-4000-8000-000000000000")},
            "flagged for renaming: an earlier job has the same name",
        ),
        ("Renamed", {"name": change("A", "B")}, "renamed from “A” to “B”"),
        (
            "LogLevelChanged",
            {"log_level": change("Info", "Verbose")},
            "log level changed from Info to Verbose",
        ),
        (
            "PoliciesChanged",
            {"retry_backoff_seconds": change(60, 120), "max_retries": change(0, 3)},
            "retries changed from 0 to 3; retry after (seconds) changed from 60 to 120",
        ),
        (
            "PoliciesChanged",
            {"max_retries": change(0, 3), "timeout_seconds": change(None, 9)},
            "timeout (seconds) changed from none to 9; retries changed from 0 to 3",
        ),
        (
            "PoliciesChanged",
            {"timeout_seconds": change(None, 300)},
            "timeout (seconds) changed from none to 300",
        ),
        (
            "PoliciesChanged",
            {"overlap": change("skip", "queue")},
            "what happens if the previous run is still going changed from skip to queue",
        ),
        ("DescriptionChanged", {"description": change("old", "new")}, "description changed"),
        ("ParametersChanged", {"parameters": change({}, {"a": 1})}, "parameters changed"),
        (
            "ParametersSchemaChanged",
            {"parameters_schema": change(None, {"type": "object"})},
            "parameters schema set",
        ),
        (
            "ParametersSchemaChanged",
            {"parameters_schema": change({"type": "object"}, {"type": "object", "required": []})},
            "parameters schema changed",
        ),
        (
            "ParametersSchemaChanged",
            {"parameters_schema": change({"type": "object"}, None)},
            "parameters schema removed",
        ),
        (
            "Scheduled",
            {"schedule": change(None, {"cron": "0 2 * * *", "timezone": "Europe/London"})},
            "schedule set to “0 2 * * *” in Europe/London",
        ),
        (
            "Scheduled",
            {
                "schedule": change(
                    {"cron": "0 2 * * *", "timezone": "UTC"},
                    {"cron": "0 3 * * *", "timezone": "UTC"},
                )
            },
            "schedule changed from “0 2 * * *” in UTC to “0 3 * * *” in UTC",
        ),
        ("Unscheduled", {"schedule": change({"cron": "0 2 * * *"}, None)}, "schedule removed"),
        ("Enabled", {"enabled": change(False, True)}, "enabled"),
        ("Disabled", {"enabled": change(True, False)}, "disabled"),
        ("Deleted", {"deleted": change(False, True)}, "deleted"),
        ("SecretStored", {"secrets.API_KEY": change(None, SECRET_SET)}, "secret API_KEY set"),
        (
            "SecretStored",
            {"secrets.API_KEY": change(SECRET_SET, SECRET_SET)},
            "secret API_KEY replaced",
        ),
        ("SecretRemoved", {"secrets.API_KEY": change(SECRET_SET, None)}, "secret API_KEY removed"),
        # A kind of entry nobody has worded yet is still words, not a class name.
        ("RunRequested", {}, "run requested"),
        ("TokenCreated", {}, "token created"),
    ],
)
def test_each_event_is_described_in_words(event: str, changes: dict[str, Any], words: str) -> None:
    assert describe_event(event, changes) == words


def test_a_secret_value_is_never_worded_whatever_the_event_holds() -> None:
    leaked = {"secrets.TOKEN": change("old-value-xyz", "new-value-xyz")}
    assert describe_event("SecretStored", leaked) == "secret TOKEN replaced"
    assert "value-xyz" not in describe_event("SomethingNew", leaked)


def test_a_save_of_several_fields_reads_as_one_sentence() -> None:
    words = describe_events(
        [
            ("Renamed", {"name": change("A", "B")}),
            ("LogLevelChanged", {"log_level": change("Info", "Verbose")}),
        ]
    )
    assert words == "Renamed from “A” to “B”; log level changed from Info to Verbose"


def test_field_labels_are_the_forms_and_secrets_are_named() -> None:
    assert field_label("retry_backoff_seconds") == "Retry after (seconds)"
    assert field_label("log_level") == "Log level"
    assert field_label("secrets.API_KEY") == "Secret API_KEY"
    assert field_label("some_new_field") == "Some new field"


def test_the_job_form_takes_its_labels_from_the_wording() -> None:
    """One source of labels: each form field's <label> is field_label(its name)."""
    form = FORM.read_text()
    labelled = re.findall(r'<label for="(\w+)">\{\{ field_label\("(\w+)"\) \}\}', form)
    assert len(labelled) >= 14
    assert all(target == name and name in FIELD_LABELS for target, name in labelled)
