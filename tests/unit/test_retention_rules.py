"""Retention's pure rules: what a finished run is due for, the job fields, the settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import InvalidInput
from domain.job_policies import validate_policies
from domain.retention import Due, RetentionPolicy, policy_for
from interfaces.retention_settings import RetentionSettings

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def test_a_log_goes_after_its_days_and_a_run_after_its_own() -> None:
    policy = RetentionPolicy(log_days=30, run_days=400)
    assert policy.due(ago(29.9), NOW, rank=5) is Due.NOTHING
    assert policy.due(ago(30), NOW, rank=5) is Due.LOG_PURGE
    assert policy.due(ago(400), NOW, rank=5) is Due.REDUCTION
    assert policy.reason(Due.LOG_PURGE) == "log_retention_days=30"
    assert policy.reason(Due.REDUCTION) == "run_retention_days=400"


def test_zero_log_days_purges_a_log_as_soon_as_the_run_has_ended() -> None:
    assert RetentionPolicy(log_days=0).due(NOW, NOW, rank=0) is Due.LOG_PURGE


def test_the_last_runs_keep_their_logs_whatever_their_age_but_not_past_run_retention() -> None:
    policy = RetentionPolicy(log_days=1, run_days=10, keep_last=3)
    assert policy.due(ago(5), NOW, rank=2) is Due.NOTHING
    assert policy.due(ago(5), NOW, rank=3) is Due.LOG_PURGE
    assert policy.due(ago(10), NOW, rank=0) is Due.REDUCTION


def test_a_jobs_own_settings_win_over_the_defaults_and_null_means_the_default() -> None:
    defaults = RetentionPolicy(log_days=30, run_days=400, keep_last=None)
    mine = policy_for({"log_retention_days": 0, "keep_last_runs": 5}, defaults)
    assert mine == RetentionPolicy(log_days=0, run_days=400, keep_last=5)
    assert policy_for({"log_retention_days": None}, defaults) == defaults


def test_bad_retention_fields_are_refused_naming_each() -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_policies(
            {"log_retention_days": -1, "run_retention_days": 0, "keep_last_runs": "all"},
            partial=True,
        )
    assert [e.field for e in refused.value.errors] == [
        "log_retention_days",
        "run_retention_days",
        "keep_last_runs",
    ]
    with pytest.raises(InvalidInput, match="log_retention_days"):
        validate_policies({"log_retention_days": True}, partial=True)  # not a number


def test_retention_fields_default_to_the_global_settings() -> None:
    checked = validate_policies({})
    assert checked["log_retention_days"] is None and checked["keep_last_runs"] is None


def test_settings_read_the_defaults_and_name_every_bad_variable() -> None:
    settings = RetentionSettings.from_env(
        {
            "JOBLEDGER_LOG_RETENTION_DAYS": "7",
            "JOBLEDGER_KEEP_LAST_RUNS": "10",
            "JOBLEDGER_RETENTION_INTERVAL_SECONDS": "0",
            "JOBLEDGER_ARCHIVE_DIR": "/var/archive",
        }
    )
    assert settings.defaults == RetentionPolicy(log_days=7, run_days=400, keep_last=10)
    assert settings.interval_seconds == 0 and str(settings.archive_dir) == "/var/archive"
    assert RetentionSettings.from_env({}).defaults == RetentionPolicy()
    with pytest.raises(InvalidInput) as refused:
        RetentionSettings.from_env(
            {
                "JOBLEDGER_LOG_RETENTION_DAYS": "-1",
                "JOBLEDGER_RUN_RETENTION_DAYS": "soon",
                "JOBLEDGER_KEEP_LAST_RUNS": "1.5",
                "JOBLEDGER_RETENTION_INTERVAL_SECONDS": "nan",
            }
        )
    assert [e.field for e in refused.value.errors] == [
        "JOBLEDGER_LOG_RETENTION_DAYS",
        "JOBLEDGER_RUN_RETENTION_DAYS",
        "JOBLEDGER_KEEP_LAST_RUNS",
        "JOBLEDGER_RETENTION_INTERVAL_SECONDS",
    ]
