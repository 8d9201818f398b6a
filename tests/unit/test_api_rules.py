"""The API's own rules, without a server: field names in problems, the If-Match header,
JSON that a store could not keep, metrics. (The schedule preview's daylight-saving marks are
tested in test_schedule_preview.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import OperationalError

from application.outage import LoopState
from domain.errors import Conflict, InvalidInput
from interfaces.health import Health
from interfaces.http.inputs import check_json, utc
from interfaces.http.metrics import render_metrics
from interfaces.http.present import schedule_facts
from interfaces.http.problems import field_of
from interfaces.http.routes.common import expected_version


@pytest.mark.parametrize(
    ("loc", "field"),
    [
        (("body", "schedule", "cron"), "schedule.cron"),
        (("body", "program", "argv", 0), "program.argv[0]"),
        (("query", "limit"), "limit"),
        (("header", "if-match"), "If-Match"),
        (("path", "job_id"), "job_id"),
        (("body",), "body"),
    ],
)
def test_validation_errors_name_the_field(loc: tuple[Any, ...], field: str) -> None:
    assert field_of(loc) == field


def _never() -> int:
    raise AssertionError("a single version needs no read of the current one")


def test_if_match_takes_a_version_in_any_etag_spelling() -> None:
    assert expected_version(None, _never) is None
    assert expected_version("*", _never) is None
    assert expected_version("3", _never) == 3
    assert expected_version('"3"', _never) == 3
    assert expected_version('W/"12"', _never) == 12
    assert expected_version('"3", "3"', _never) == 3
    for bad in ("x", "-1", "", "1.5", "9" * 30, '"1", x', '"1",', '*, "1"'):
        with pytest.raises(InvalidInput) as error:
            expected_version(bad, _never)
        assert error.value.field == "If-Match"


def test_an_if_match_list_matches_if_any_version_is_the_current_one() -> None:
    # RFC 9110: the change applies when any listed entity tag matches; that version is then
    # expected, so a change between this read and the save is still refused.
    assert expected_version('"1", "2"', lambda: 2) == 2
    assert expected_version('1, W/"4",7', lambda: 4) == 4
    with pytest.raises(Conflict) as stale:
        expected_version('"1", "2"', lambda: 3)
    assert stale.value.actual == 3 and "1, 2" in str(stale.value)


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"a": "nul\x00here"}, "parameters.a"),
        ({"a": [1, {"b": 2**70}]}, "parameters.a[1].b"),
        ({"a": float("inf")}, "parameters.a"),
        ({"a": "\ud800"}, "parameters.a"),
        ({"nul\x00key": 1}, "parameters"),
    ],
)
def test_json_a_store_could_not_keep_is_refused_by_path(value: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        check_json(value, "parameters")
    assert error.value.field == field


def test_deep_json_is_refused_and_plain_json_passes() -> None:
    deep: Any = "x"
    for _ in range(40):
        deep = [deep]
    with pytest.raises(InvalidInput):
        check_json({"a": deep}, "parameters")
    plain = {"a": [1, 2.5, True, None, "text", {"b": -(2**63)}]}
    assert check_json(plain, "parameters") is plain


def test_times_must_carry_an_offset_and_fit_in_utc() -> None:
    assert utc(None, "since") is None
    assert utc(datetime(2026, 1, 1, 1, tzinfo=UTC), "since") == datetime(2026, 1, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput) as error:
        utc(datetime(2026, 1, 1), "since")
    assert error.value.field == "since"
    from datetime import timezone

    with pytest.raises(InvalidInput):
        utc(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))), "as_of")


def test_next_run_is_computed_only_for_an_enabled_schedule() -> None:
    now = datetime(2026, 11, 25, 10, 7, tzinfo=UTC)
    schedule = {"cron": "*/15 * * * *", "timezone": "UTC"}
    assert schedule_facts(schedule, True, now) == (
        "every 15 minutes",
        datetime(2026, 11, 25, 10, 15, tzinfo=UTC),
    )
    assert schedule_facts(schedule, False, now)[1] is None
    assert schedule_facts(schedule, True, None)[1] is None
    assert schedule_facts(None, True, now) == (None, None)


class FakeRuns:
    def count_by_status(self) -> dict[str, int]:
        return {"queued": 2, "running": 1, "succeeded": 5}

    def list_runs(self, *, limit: int) -> tuple[list[dict[str, Any]], None]:
        slot = datetime(2026, 11, 25, 10, tzinfo=UTC)
        runs = [
            {
                "trigger": "schedule",
                "scheduled_for": slot,
                "started_at": slot + timedelta(seconds=s),
            }
            for s in (0.5, 1.0, 3.0)
        ]
        runs.append({"trigger": "manual", "scheduled_for": None, "started_at": slot})
        return runs, None


class FakeLogs:
    def count_entries(self) -> int:
        return 1234


class FakeSystem:
    class app:  # noqa: N801 - stands in for an attribute
        class recorder:  # noqa: N801
            @staticmethod
            def max_notification_id() -> int:
                return 100

    class follower:  # noqa: N801
        @staticmethod
        def positions() -> dict[str, int]:
            return {"jobs": 100, "runs": 97}

    runs = FakeRuns()
    logs = FakeLogs()

    class _Retention:
        @staticmethod
        def store_bytes() -> int:
            return 4096

        @staticmethod
        def purged_entries() -> int:
            return 77

    def retention_store(self) -> Any:
        return self._Retention()


def test_metrics_are_prometheus_text() -> None:
    text = render_metrics(FakeSystem(), datetime.now(UTC), Health("reachable", 3))
    assert 'jobledger_runs{status="queued"} 2' in text
    assert 'jobledger_projection_lag_events{projection="runs"} 3' in text
    assert 'jobledger_projection_lag_events{projection="jobs"} 0' in text
    assert 'jobledger_fire_lag_seconds{quantile="0.5"} 1.0' in text
    assert "jobledger_fire_lag_seconds_count 3" in text
    assert "jobledger_fire_lag_seconds_sum 4.5" in text
    assert "jobledger_log_entries_recorded 1234" in text
    assert "jobledger_store_bytes 4096" in text
    assert "jobledger_log_entries_purged_total 77" in text
    assert text.endswith("\n") and str(uuid4()) not in text
    assert "jobledger_healthy 1" in text and "jobledger_store_reachable 1" in text


def test_metrics_tell_what_is_down_while_the_store_is_away() -> None:
    class Unreachable(FakeRuns):
        def count_by_status(self):
            raise OperationalError("connection refused")

    class Down(FakeSystem):
        runs = Unreachable()

    worker = LoopState("worker w1", healthy=False, failing_for=3.0, cause="connection refused")
    health = Health("unreachable", None, ["store: connection refused"], [worker])
    text = render_metrics(Down(), datetime.now(UTC), health)
    assert "jobledger_healthy 0" in text and "jobledger_store_reachable 0" in text
    assert 'jobledger_loop_healthy{loop="worker w1"} 0' in text
    assert "jobledger_runs{" not in text
