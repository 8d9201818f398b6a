"""One contract for the event store, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import psycopg
import pytest

from adapters.event_store_config import StoreSettings, parse_database_url
from adapters.job_types import EntryPointJobTypeCatalog
from adapters.store_backend import backend_for
from application.app import JobLedger
from domain.errors import Conflict, NameTaken
from domain.log_level import LogLevel
from tests.fakes import FakeVault

FIRE = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
SECRET = "pa55-w0rd-visible-only-at-run-time"


class EventStoreContract:
    """Subclasses provide `store` (StoreSettings) and `raw_dump()` (all bytes in the store)."""

    @pytest.fixture
    def store(self) -> StoreSettings:
        raise NotImplementedError

    def raw_dump(self, store: StoreSettings) -> bytes:
        raise NotImplementedError

    @pytest.fixture
    def open_ledger(self, store):
        opened: list[JobLedger] = []

        def open_() -> JobLedger:
            app = JobLedger(
                vault=FakeVault(),
                job_types=EntryPointJobTypeCatalog(),
                env=backend_for(store).event_store_env(),
            )
            opened.append(app)
            return app

        yield open_
        for app in opened:
            app.close()

    def register(self, ledger: JobLedger, **overrides):
        fields = dict(
            name="PSA invoice sync",
            job_type="command",
            program={"argv": ["sync"]},
            actor="alice",
            parameters={"tenant": "acme"},
            schedule={"cron": "0 2 * * *", "timezone": "Europe/London"},
        )
        fields.update(overrides)
        return ledger.register_job(**fields)

    def test_events_round_trip_with_their_types(self, open_ledger):
        ledger = open_ledger()
        job = self.register(ledger)
        run = ledger.request_run(job.id, actor="sched", trigger="schedule", scheduled_for=FIRE)
        reloaded = open_ledger().get_run(run.id)
        assert isinstance(reloaded.job_id, UUID) and reloaded.job_id == job.id
        assert reloaded.scheduled_for == FIRE
        assert isinstance(reloaded.created_on, datetime)
        history = open_ledger().job_history(job.id)
        assert history[0].schedule == {"cron": "0 2 * * *", "timezone": "Europe/London"}

    def test_a_stale_version_is_a_conflict_across_processes(self, open_ledger):
        first, second = open_ledger(), open_ledger()
        job = self.register(first)
        first.update_job(job.id, {"name": "One"}, actor="alice", expected_version=1)
        with pytest.raises(Conflict):
            second.update_job(job.id, {"name": "Two"}, actor="bob", expected_version=1)

    def test_concurrent_writers_of_the_same_version_lose_no_update_silently(self, open_ledger):
        first, second = open_ledger(), open_ledger()
        job = self.register(first)
        a, b = first.get_job(job.id), second.get_job(job.id)
        a.rename("A", "alice")
        b.rename("B", "bob")
        first.save(a)
        with pytest.raises(Conflict):
            second._save(b)
        assert open_ledger().get_job(job.id).name == "A"

    def test_two_schedulers_firing_the_same_slot_create_one_run(self, open_ledger):
        job = self.register(open_ledger())
        schedulers = [open_ledger() for _ in range(4)]
        outcomes: list[str] = []
        barrier = threading.Barrier(len(schedulers))

        def fire(app: JobLedger) -> None:
            barrier.wait()
            try:
                app.request_run(job.id, actor="sched", trigger="schedule", scheduled_for=FIRE)
                outcomes.append("fired")
            except Conflict:
                outcomes.append("conflict")

        threads = [threading.Thread(target=fire, args=(app,)) for app in schedulers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["conflict"] * 3 + ["fired"]

    def race(self, apps: list[JobLedger], act) -> list[object]:
        """Run `act(app, i)` in one thread per app, all at once; each outcome, or the
        NameTaken it raised."""
        outcomes: list[object] = []
        barrier = threading.Barrier(len(apps))

        def go(app: JobLedger, i: int) -> None:
            barrier.wait()
            try:
                outcomes.append(act(app, i))
            except NameTaken as error:
                outcomes.append(error)

        threads = [threading.Thread(target=go, args=(app, i)) for i, app in enumerate(apps)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return outcomes

    def registered(self, ledger: JobLedger) -> int:
        notifications = ledger.recorder.select_notifications(1, 10_000)
        return sum(1 for n in notifications if n.topic.endswith("Job.Registered"))

    def test_processes_racing_to_register_one_name_create_one_job(self, open_ledger):
        apps = [open_ledger() for _ in range(4)]
        names = ["Nightly", "nightly", " NIGHTLY", "Nightly "]
        outcomes = self.race(apps, lambda app, i: self.register(app, name=names[i]))
        jobs = [o for o in outcomes if not isinstance(o, NameTaken)]
        assert len(jobs) == 1 and len(outcomes) == 4
        assert self.registered(open_ledger()) == 1
        with pytest.raises(NameTaken):
            self.register(open_ledger(), name="NIGHTLY")

    def test_processes_racing_for_a_released_name_give_it_to_one_job(self, open_ledger):
        ledger = open_ledger()
        ledger.delete_job(self.register(ledger, name="Freed").id, actor="alice")
        apps = [open_ledger() for _ in range(4)]
        outcomes = self.race(apps, lambda app, i: self.register(app, name="freed"))
        assert len([o for o in outcomes if not isinstance(o, NameTaken)]) == 1
        assert self.registered(open_ledger()) == 2  # the deleted one and the winner
        # Renames race the same way.
        others = [self.register(ledger, name=f"Other {i}") for i in range(4)]
        outcomes = self.race(
            apps, lambda app, i: app.update_job(others[i].id, {"name": "Renamed"}, actor="bob")
        )
        assert len([o for o in outcomes if not isinstance(o, NameTaken)]) == 1
        assert len(outcomes) == 4  # every loser was told the name is taken

    def test_workers_racing_for_a_run_have_one_winner(self, open_ledger):
        ledger = open_ledger()
        job = self.register(ledger)
        run = ledger.request_run(job.id, actor="bob")
        workers = [open_ledger() for _ in range(4)]
        winners: list[str] = []
        barrier = threading.Barrier(len(workers))

        def claim(app: JobLedger, name: str) -> None:
            barrier.wait()
            try:
                app.start_run(run.id, worker=name)
                winners.append(name)
            except Conflict:
                pass

        threads = [
            threading.Thread(target=claim, args=(app, f"w{i}")) for i, app in enumerate(workers)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(winners) == 1
        assert open_ledger().get_run(run.id).worker == winners[0]

    def test_the_log_stream_is_separate_from_the_run(self, open_ledger):
        ledger = open_ledger()
        run = ledger.request_run(self.register(ledger).id, actor="bob")
        log = ledger.open_run_log(run)
        now = datetime.now(UTC)
        for batch in range(5):
            ledger.record_log_entries(
                log, [(now, LogLevel.Info, f"line {batch}-{i}") for i in range(100)]
            )
        ledger.start_run(run.id, worker="w1")
        ledger.succeed_run(run.id)
        assert len(list(ledger.events.get(run.id))) == 3
        assert open_ledger().run_log(run.id).entry_count == 500

    def test_a_save_of_many_megabytes_completes(self, open_ledger):
        # psycopg's pipeline mode could deadlock on a write this large (psycopg issue 685).
        ledger = open_ledger()
        run = ledger.request_run(self.register(ledger).id, actor="bob")
        log = ledger.open_run_log(run)
        now = datetime.now(UTC)
        kept = ledger.record_log_entries(log, [(now, LogLevel.Info, "x" * 16_000)] * 1_000)
        assert kept == 1_000
        assert open_ledger().run_log(run.id).entry_count == 1_000

    def test_no_secret_value_is_stored_in_plain_text(self, open_ledger, store):
        ledger = open_ledger()
        job = self.register(ledger, secrets={"API_KEY": SECRET})
        ledger.store_secret(job.id, "OTHER", SECRET + "-2", actor="alice")
        assert SECRET.encode() not in self.raw_dump(store)


class TestSQLiteEventStore(EventStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> StoreSettings:
        return StoreSettings(kind="sqlite", sqlite_path=tmp_path / "events.sqlite3")

    def raw_dump(self, store: StoreSettings) -> bytes:
        assert store.sqlite_path is not None
        return b"".join(p.read_bytes() for p in store.sqlite_path.parent.iterdir() if p.is_file())


@pytest.mark.postgres
class TestPostgresEventStore(EventStoreContract):
    @pytest.fixture
    def store(self, pg_schema) -> StoreSettings:
        url, schema = pg_schema
        return parse_database_url(f"{url}?schema={schema}")

    def raw_dump(self, store: StoreSettings) -> bytes:
        url = f"postgresql://{store.user}@{store.host}:{store.port}/{store.dbname}"
        with psycopg.connect(url) as conn:
            tables = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (store.schema,),
            ).fetchall()
            dump = b""
            for (table,) in tables:
                rows = conn.execute(
                    psycopg.sql.SQL("SELECT * FROM {}.{}").format(
                        psycopg.sql.Identifier(store.schema), psycopg.sql.Identifier(table)
                    )
                ).fetchall()
                dump += repr(rows).encode() + b"".join(
                    bytes(v) for row in rows for v in row if isinstance(v, (bytes, memoryview))
                )
        return dump
