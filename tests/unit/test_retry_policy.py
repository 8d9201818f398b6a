"""The retry policy as one value: which endings retry, how many times, after what wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import InvalidInput
from domain.job_policies import DEFAULT_POLICIES, validate_policies
from domain.retry import RetryPolicy
from domain.run_status import RunStatus

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_a_jobs_policies_give_its_retry_policy() -> None:
    policy = RetryPolicy.from_policies({**DEFAULT_POLICIES, "max_retries": 2})
    assert policy == RetryPolicy(max_retries=2, backoff_seconds=60)
    assert RetryPolicy.from_policies({}) == RetryPolicy(max_retries=0, backoff_seconds=0)


def test_a_run_is_retried_until_its_attempts_are_used_up() -> None:
    policy = RetryPolicy(max_retries=2, backoff_seconds=10)
    assert [policy.allows(attempt) for attempt in (1, 2, 3)] == [True, True, False]
    assert not RetryPolicy(max_retries=0).allows(1)


@pytest.mark.parametrize("status", list(RunStatus))
def test_only_failures_timeouts_and_abandoned_runs_are_retried(status: RunStatus) -> None:
    expected = status in (RunStatus.FAILED, RunStatus.TIMED_OUT, RunStatus.ABANDONED)
    assert RetryPolicy.retries_after(status) is expected


def test_the_wait_doubles_with_each_attempt_and_is_capped_at_a_day() -> None:
    policy = RetryPolicy(max_retries=20, backoff_seconds=10)
    assert [policy.delay(n).total_seconds() for n in (1, 2, 3)] == [10, 20, 40]
    assert policy.next_attempt_at(2, NOW) == NOW + timedelta(seconds=20)
    assert policy.delay(1_000) == timedelta(days=1)


@pytest.mark.parametrize(
    ("policies", "field"),
    [
        ({"max_retries": 21}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
        ({"retry_backoff_seconds": -1}, "retry_backoff_seconds"),
        ({"retry_backoff_seconds": 86_401}, "retry_backoff_seconds"),
    ],
)
def test_retry_policies_out_of_range_are_refused(policies: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_policies(policies, partial=True)
    assert refused.value.field == field
