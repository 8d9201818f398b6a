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
from adapters.job_types import EntryPointJobTypeCatalog
from adapters.store_backend import backend_for
from application.app import JobLedger
from domain.run import Run
from interfaces.bootstrap import build
from interfaces.scheduler_runtime import SchedulerHandle, start_scheduler
from interfaces.settings import Settings
from tests.fakes import FakeVault

EVERY_SECOND = "* * * * * *"


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the schedulers"
        time.sleep(0.05)


def requested(app: JobLedger) -> dict[UUID, Counter[datetime]]:
    """Per job, how many Requested events the store holds for each fire time."""
    found: dict[UUID, Counter[datetime]] = {}
    position = 0
    while page := app.recorder.select_notifications(
        start=position, limit=1000, topics=[get_topic(Run.Requested)],
        inclusive_of_start=False,
    ):  # fmt: skip
        for n in page:
            event: Any = app.mapper.to_domain_event(n)
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
    schedulers = 4  # threads, each with its own app on the same store

    @pytest.fixture
    def store(self) -> StoreSettings:
        raise NotImplementedError

    @pytest.fixture
    def open_app(self, store: StoreSettings) -> Iterator[Callable[[], JobLedger]]:
        """An app of its own per scheduler, as separate processes would have (small pools)."""
        apps: list[JobLedger] = []

        def open_one() -> JobLedger:
            env = backend_for(store).event_store_env(pool_size=1, max_overflow=2)
            app = JobLedger(vault=FakeVault(), job_types=EntryPointJobTypeCatalog(), env=env)
            apps.append(app)
            return app

        yield open_one
        for app in apps:
            app.close()

    def register_jobs(self, app: JobLedger, n: int) -> list[UUID]:
        return [
            app.register_job(
                name=f"every second {i}",
                job_type="command",
                program={"argv": ["true"]},
                actor="test",
                schedule={"cron": EVERY_SECOND},
                policies={"overlap": "allow"},  # no workers: every slot requests a run
            ).id
            for i in range(n)
        ]

    def test_schedulers_side_by_side_fire_each_slot_once(
        self, open_app: Callable[[], JobLedger], store: StoreSettings
    ):
        apps = [open_app() for _ in range(self.schedulers)]
        jobs = self.register_jobs(apps[0], 20)
        handles: list[SchedulerHandle] = []
        try:
            handles = [start_scheduler(app, backend_for(store)) for app in apps]
            wait_for(lambda: all(h.scheduler.stats.batches >= 3 for h in handles))
        finally:
            for handle in handles:
                handle.stop()
        total = assert_each_second_once(requested(apps[0]), jobs)
        stats = [h.scheduler.stats for h in handles]
        # Every scheduler fired every slot; the store let exactly one write each.
        assert sum(s.requested for s in stats) == total
        assert sum(s.already_fired for s in stats) > 0
        assert all(s.requested + s.already_fired > 0 for s in stats)

    def test_a_restarted_scheduler_resumes_from_its_watermark(
        self, open_app: Callable[[], JobLedger], store: StoreSettings
    ):
        app = open_app()
        jobs = self.register_jobs(app, 5)
        first = start_scheduler(app, backend_for(store))
        try:
            wait_for(lambda: first.scheduler.stats.batches >= 2)
        finally:
            first.stop()
        stopped_at = first.scheduler.handled_until
        assert stopped_at is not None
        # Down for two whole seconds or more (within the 60 s misfire grace).
        wait_for(lambda: datetime.now(stopped_at.tzinfo) > stopped_at + timedelta(seconds=2.2))
        second = start_scheduler(open_app(), backend_for(store))
        try:
            wait_for(lambda: second.scheduler.stats.batches >= 2)
        finally:
            second.stop()
        found = requested(app)
        total = assert_each_second_once(found, jobs)
        assert first.scheduler.stats.requested + second.scheduler.stats.requested == total
        assert second.scheduler.stats.already_fired == 0
        assert second.scheduler.stats.requested >= 5 * 2  # at least the two seconds missed
        # The restarted one fired the seconds it was down for, late, in its first batch.
        late = [t for counts in found.values() for t in counts if t > stopped_at]
        assert min(late) == stopped_at.replace(microsecond=0) + timedelta(seconds=1)

    def test_serve_starts_the_scheduler_on_a_whole_system(self, store: StoreSettings, tmp_path):
        system = build(
            Settings(store=store, data_dir=tmp_path / "data", master_key=None),
            announce=lambda _message: None,
        )
        try:
            (job,) = self.register_jobs(system.app, 1)
            handle = start_scheduler(system.app, system.backend)
            try:
                wait_for(lambda: handle.scheduler.stats.requested >= 2)
            finally:
                handle.stop()
            assert handle.thread is not None and not handle.thread.is_alive()
            assert set(requested(system.app)) == {job}
        finally:
            system.close()


class TestSchedulerOnSQLite(SchedulerContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> StoreSettings:
        return StoreSettings(kind="sqlite", sqlite_path=tmp_path / "data" / "jobledger.sqlite3")


@pytest.mark.postgres
class TestSchedulerOnPostgres(SchedulerContract):
    @pytest.fixture
    def store(self, pg_schema: tuple[str, str]) -> StoreSettings:
        url, schema = pg_schema
        return parse_database_url(f"{url}?schema={schema}")
