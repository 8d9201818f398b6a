"""Schedulers on real stores with the real clock: side by side each slot fires once, and a
restarted scheduler resumes from its watermark with no duplicate and no hole.

Jobs fire every second, so each test waits a few real seconds, polling with a deadline.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from adapters.event_store_config import StoreSettings, parse_database_url
from domain.run import Run
from interfaces.bootstrap import System, build
from interfaces.scheduler_runtime import SchedulerHandle, start_scheduler
from interfaces.settings import Settings

EVERY_SECOND = "* * * * * *"


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the schedulers"
        time.sleep(0.05)


def requested(system: System) -> dict[UUID, Counter[datetime]]:
    """Per job, how many Requested events the store holds for each fire time."""
    app = system.app
    found: dict[UUID, Counter[datetime]] = {}
    position = 0
    while page := app.recorder.select_notifications(
        start=position, limit=1000, topics=[get_topic(Run.Requested)],
        inclusive_of_start=False,
    ):  # fmt: skip
        for n in page:
            event = app.mapper.to_domain_event(n)
            assert event.scheduled_for is not None
            found.setdefault(event.job_id, Counter())[event.scheduled_for] += 1
        position = page[-1].id
    return found


def assert_each_second_once(found: dict[UUID, Counter[datetime]], jobs: list[UUID]) -> int:
    """Every job: one run per second from its first slot to its last, none twice."""
    assert set(found) == set(jobs)
    total = 0
    for counts in found.values():
        assert set(counts.values()) == {1}
        first, last = min(counts), max(counts)
        seconds = int((last - first).total_seconds()) + 1
        assert sorted(counts) == [first + timedelta(seconds=i) for i in range(seconds)]
        total += seconds
    return total


class SchedulerContract:
    schedulers = 4

    @pytest.fixture
    def store(self) -> StoreSettings:
        raise NotImplementedError

    @pytest.fixture
    def open_system(self, store: StoreSettings, tmp_path: Path) -> Iterator[Callable[[], System]]:
        systems: list[System] = []

        def open_one() -> System:
            system = build(
                Settings(store=store, data_dir=tmp_path / "data", master_key=None),
                announce=lambda _message: None,
            )
            systems.append(system)
            return system

        yield open_one
        for system in systems:
            system.close()

    def register_jobs(self, system: System, n: int) -> list[UUID]:
        return [
            system.app.register_job(
                name=f"every second {i}",
                job_type="command",
                program={"argv": ["true"]},
                actor="test",
                schedule={"cron": EVERY_SECOND},
                policies={"overlap": "allow"},  # no workers: every slot requests a run
            ).id
            for i in range(n)
        ]

    def test_schedulers_side_by_side_fire_each_slot_once(self, open_system: Any):
        systems = [open_system() for _ in range(self.schedulers)]
        jobs = self.register_jobs(systems[0], 20)
        handles: list[SchedulerHandle] = []
        try:
            handles = [start_scheduler(s) for s in systems]
            wait_for(lambda: all(h.scheduler.stats.batches >= 3 for h in handles))
        finally:
            for handle in handles:
                handle.stop()
        total = assert_each_second_once(requested(systems[0]), jobs)
        stats = [h.scheduler.stats for h in handles]
        # Every scheduler fired every slot; the store let exactly one write each.
        assert sum(s.requested for s in stats) == total
        assert sum(s.already_fired for s in stats) > 0
        assert all(s.requested + s.already_fired > 0 for s in stats)

    def test_a_restarted_scheduler_resumes_from_its_watermark(self, open_system: Any):
        system = open_system()
        jobs = self.register_jobs(system, 5)
        first = start_scheduler(system)
        try:
            wait_for(lambda: first.scheduler.stats.batches >= 2)
        finally:
            first.stop()
        stopped_at = first.scheduler.handled_until
        assert stopped_at is not None
        # Down for two whole seconds or more (within the 60 s misfire grace).
        wait_for(lambda: datetime.now(stopped_at.tzinfo) > stopped_at + timedelta(seconds=2.2))
        second = start_scheduler(open_system())
        try:
            wait_for(lambda: second.scheduler.stats.batches >= 2)
        finally:
            second.stop()
        found = requested(system)
        total = assert_each_second_once(found, jobs)
        assert first.scheduler.stats.requested + second.scheduler.stats.requested == total
        assert second.scheduler.stats.already_fired == 0
        # The restarted one fired the seconds it was down for, late, in its first batch.
        late = [t for counts in found.values() for t in counts if t > stopped_at]
        assert min(late) == stopped_at.replace(microsecond=0) + timedelta(seconds=1)


class TestSchedulerOnSQLite(SchedulerContract):
    schedulers = 2

    @pytest.fixture
    def store(self, tmp_path: Path) -> StoreSettings:
        return StoreSettings(kind="sqlite", sqlite_path=tmp_path / "data" / "jobledger.sqlite3")


@pytest.mark.postgres
class TestSchedulerOnPostgres(SchedulerContract):
    @pytest.fixture
    def store(self, pg_schema: tuple[str, str]) -> StoreSettings:
        url, schema = pg_schema
        return parse_database_url(f"{url}?schema={schema}")
