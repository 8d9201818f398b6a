"""A job's retry policy: which endings of a run are retried, how often, and after what wait.

The job stores the policy as two of its run policies (`max_retries`,
`retry_backoff_seconds`); `RetryPolicy` is the rule they make together, so the application
asks it whether a failed run gets another attempt and when that attempt may start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.errors import InvalidInput
from domain.run_status import RunStatus

MAX_RETRIES = 20
MAX_BACKOFF_SECONDS = 86_400
# The longest wait between attempts, however many there were: a day.
MAX_RETRY_DELAY_SECONDS = 86_400
DEFAULT_MAX_RETRIES = 0
DEFAULT_BACKOFF_SECONDS = 60

# The endings a retry may follow. A success needs none; a cancelled run was stopped on
# purpose; a skipped one never ran by the scheduler's choice.
RETRIED_ENDINGS: frozenset[RunStatus] = frozenset(
    {RunStatus.FAILED, RunStatus.TIMED_OUT, RunStatus.ABANDONED}
)


def check_max_retries(value: object) -> int:
    """The `max_retries` run policy: a whole number from 0 to `MAX_RETRIES`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RETRIES:
        raise InvalidInput("max_retries", f"must be a whole number from 0 to {MAX_RETRIES}")
    return value


def check_backoff_seconds(value: object) -> int:
    """The `retry_backoff_seconds` run policy: a whole number of seconds, at most a day."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 0 <= value <= MAX_BACKOFF_SECONDS
    ):
        raise InvalidInput(
            "retry_backoff_seconds", f"must be a whole number from 0 to {MAX_BACKOFF_SECONDS}"
        )
    return value


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many retries a run of a job gets after a failed attempt, and how long each waits.

    The wait before the retry of attempt n is `backoff_seconds * 2**(n-1)` (backoff, 2x, 4x,
    ...), capped at a day.
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    backoff_seconds: int = DEFAULT_BACKOFF_SECONDS

    @classmethod
    def from_policies(cls, policies: Mapping[str, Any]) -> RetryPolicy:
        """The policy a job's run policies describe (a policy not set means no retry, no wait)."""
        return cls(
            max_retries=int(policies.get("max_retries") or 0),
            backoff_seconds=int(policies.get("retry_backoff_seconds") or 0),
        )

    @staticmethod
    def retries_after(status: RunStatus | str) -> bool:
        """Whether a run that ended with `status` may be retried at all."""
        return status in RETRIED_ENDINGS

    def allows(self, failed_attempt: int) -> bool:
        """Whether attempt number `failed_attempt` (the first is 1) may be followed by another."""
        return failed_attempt <= self.max_retries

    def delay(self, failed_attempt: int) -> timedelta:
        """How long the retry of attempt `failed_attempt` waits before it may start."""
        exponent = max(0, failed_attempt - 1)
        # Cap the exponent first: 2**exponent of a large attempt count must not overflow.
        seconds = self.backoff_seconds * 2 ** min(exponent, 32)
        return timedelta(seconds=min(seconds, MAX_RETRY_DELAY_SECONDS))

    def next_attempt_at(self, failed_attempt: int, now: datetime) -> datetime:
        """The earliest time the retry of attempt `failed_attempt`, decided at `now`, may start."""
        return now + self.delay(failed_attempt)
