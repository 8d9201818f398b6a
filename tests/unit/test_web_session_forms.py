"""The pages' form reading: every field at fault reported at once, by its form field."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.errors import InvalidInput
from interfaces.web.forms import Errors, command_kwargs, form_field, job_raw, parse_job_form
from interfaces.web.preview import preview

GOOD = {
    "name": "Nightly",
    "description": "",
    "job_type": "command",
    "program": '{"argv": ["true"]}',
    "cron": "30 1 * * *",
    "timezone": "Europe/London",
    "parameters": '{"a": 1}',
    "log_level": "Warning",
    "enabled": "on",
    "timeout_seconds": "",
    "overlap": "skip",
    "misfire": "run_once",
    "max_retries": "2",
    "retry_backoff_seconds": "30",
    "secret_name_1": "API_KEY",
    "secret_value_1": "v",
}


def test_a_good_form_becomes_register_job_arguments():
    parsed = parse_job_form(GOOD, new=True)
    assert not parsed.errors
    kwargs = command_kwargs(parsed.config)
    assert kwargs["program"] == {"argv": ["true"]}
    assert kwargs["schedule"] == {"cron": "30 1 * * *", "timezone": "Europe/London"}
    assert kwargs["parameters"] == {"a": 1} and kwargs["enabled"] is True
    assert kwargs["policies"] == {
        "timeout_seconds": None,
        "overlap": "skip",
        "misfire": "run_once",
        "max_retries": 2,
        "retry_backoff_seconds": 30,
        # Left blank: the global retention defaults.
        "log_retention_days": None,
        "run_retention_days": None,
        "keep_last_runs": None,
    }
    assert parsed.secrets == {"API_KEY": "v"}


def test_the_retention_fields_are_read_and_a_bad_one_is_reported_by_its_field():
    parsed = parse_job_form({**GOOD, "log_retention_days": "0", "keep_last_runs": "5"}, new=True)
    policies = command_kwargs(parsed.config)["policies"]
    assert (policies["log_retention_days"], policies["keep_last_runs"]) == (0, 5)
    errors = parse_job_form({**GOOD, "run_retention_days": "soon"}, new=True).errors.by_field
    assert set(errors) == {"run_retention_days"}


def test_every_bad_field_is_reported_by_its_form_field():
    bad = {
        **GOOD,
        "name": " ",
        "program": "{not json",
        "parameters": "[1]",
        "cron": "61 * * * *",
        "timeout_seconds": "soon",
        "secret_name_1": "1bad",
    }
    errors = parse_job_form(bad, new=True).errors.by_field
    assert set(errors) == {"name", "program", "parameters", "cron", "timeout_seconds", "secrets"}
    assert "not valid JSON" in errors["program"]
    assert "JSON object" in errors["parameters"]
    assert "61" in errors["cron"]


def test_a_secret_value_is_never_in_an_error():
    # A value without a name, and a named value the store refuses: each row is reported,
    # neither is kept, and the value appears in nothing shown back to the browser.
    for row in (
        {"secret_name_1": "", "secret_value_1": "hunter2"},
        {"secret_name_1": "API_KEY", "secret_value_1": "hunter2\x00"},
    ):
        parsed = parse_job_form({**GOOD, **row}, new=True)
        assert set(parsed.errors.by_field) == {"secrets"}
        assert parsed.secrets == {}
        assert "hunter2" not in repr(parsed.errors.by_field)
        assert "hunter2" not in repr(parsed.raw) and "hunter2" not in repr(parsed.config)


def test_an_empty_cron_means_no_schedule_and_no_preview():
    parsed = parse_job_form({**GOOD, "cron": " "}, new=False)
    assert parsed.config["schedule"] is None and "job_type" not in parsed.config
    assert preview("", "UTC", datetime.now(UTC)) is None


def test_command_errors_map_to_form_fields():
    assert form_field("schedule.cron") == "cron"
    assert form_field("schedule.timezone") == "timezone"
    assert form_field("program.argv") == "program"
    assert form_field("secret.value") == "secrets"
    assert form_field("something.else") == "form"
    errors = Errors()
    errors.add(InvalidInput("program.argv", "[] should be non-empty"))
    assert errors.by_field == {"program": "program.argv: [] should be non-empty"}


def test_the_preview_words_the_shared_fire_times_for_the_page():
    # Which fire time is marked is domain.schedule_preview's rule (test_schedule_preview.py);
    # the page adds the zone to the description and writes each local time with its offset.
    shown = preview("30 1 * * *", "Europe/London", datetime(2026, 3, 27, 12, tzinfo=UTC))
    assert shown is not None and not shown.error
    assert shown.description == "at 01:30 every day (Europe/London)"
    assert len(shown.fire_times) == 10
    marked = [t for t in shown.fire_times if t.offset_changed]
    assert [t.at for t in marked] == [datetime(2026, 3, 29, 1, 0, tzinfo=UTC)]
    assert marked[0].local == "Sun 2026-03-29 02:00:00 BST (UTC+0100)"
    assert shown.fire_times[0].local == "Sat 2026-03-28 01:30:00 GMT (UTC+0000)"
    assert preview("* * *", "UTC", datetime.now(UTC)).error  # type: ignore[union-attr]


def test_a_stored_job_fills_the_form():
    raw = job_raw(
        {
            "name": "n",
            "description": None,
            "job_type": "command",
            "program": {"argv": ["x"]},
            "schedule": None,
            "parameters": {},
            "log_level": "Info",
            "enabled": False,
            "policies": {"timeout_seconds": 5, "max_retries": 1},
        }
    )
    assert raw["cron"] == "" and raw["timezone"] == "UTC" and raw["enabled"] == ""
    assert raw["timeout_seconds"] == "5" and raw["overlap"] == "skip"
