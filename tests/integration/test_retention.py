"""Retention on both real stores: expired logs leave the event store and the logs view
physically, the run records it, a rebuild gives the same views, a reduced run's slot never
fires again, and the store reports its size and the entries purged. Ages from a fake clock.
"""

from __future__ import annotations

import gzip
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest

from adapters.event_store_config import StoreSettings, parse_database_url
from application.retention import RetentionSweep, SweepReport
from domain.log_level import LogLevel
from domain.retention import Due
from domain.run import Run
from domain.run_log import run_log_id
from interfaces.bootstrap import System, build
from interfaces.health import Health
from interfaces.http.app import create_app
from interfaces.http.metrics import render_metrics
from interfaces.http.server import BackgroundServer
from interfaces.retention_runtime import retention_sweep, start_retention
from interfaces.retention_settings import RetentionSettings
from interfaces.settings import Settings
from scheduler.checkpoint import MemoryCheckpoint
from scheduler.firing import FiringRules
from scheduler.scheduler import Scheduler
from tests.fakes import FakeClock

LINES = 250


def finished_run(system: System, job_id: UUID, *, lines: int = LINES, ok: bool = True) -> Run:
    app = system.app
    run = app.request_run(job_id, actor="alice")
    log = app.open_run_log(run)
    now = datetime.now(UTC)
    app.record_log_entries(log, [(now, LogLevel.Info, f"line {i}") for i in range(lines)])
    app.start_run(run.id, worker="w1")
    if ok:
        return app.succeed_run(run.id)
    return app.fail_run(run.id, exit_code=1, error="boom")


def log_rows(system: System, run_id: UUID) -> int:
    return len(system.app.recorder.select_events(run_log_id(run_id)))


def snapshot(system: System) -> dict[str, Any]:
    runs, _ = system.runs.list_runs(limit=1000)
    return {
        "runs": runs,
        "logs": {str(r["id"]): system.logs.entries(r["id"], limit=1000)[0] for r in runs},
        "entries": system.logs.count_entries(),
        "by_status": system.runs.count_by_status(),
    }


def dump(value: Any) -> bytes:
    return orjson.dumps(value, default=str, option=orjson.OPT_SORT_KEYS)


class RetentionContract:
    @pytest.fixture
    def store(self) -> StoreSettings:
        raise NotImplementedError

    @pytest.fixture
    def system(self, store: StoreSettings, tmp_path: Path) -> Iterator[System]:
        system = build(
            Settings(store=store, data_dir=tmp_path / "data", master_key=None),
            announce=lambda _message: None,
        )
        yield system
        system.close()

    @pytest.fixture
    def clock(self) -> FakeClock:
        # Runs end at the real time (event timestamps); the sweep looks from days later.
        return FakeClock(datetime.now(UTC))

    @pytest.fixture
    def sweep(self, system: System, clock: FakeClock) -> Iterator[RetentionSweep]:
        sweep = retention_sweep(system.app, system.backend, RetentionSettings(), clock=clock)
        yield sweep
        sweep.store.close()

    def register(self, system: System, name: str, schedule: Any = None, **policies: Any) -> UUID:
        job = system.app.register_job(
            name=name,
            job_type="command",
            program={"argv": ["true"]},
            actor="alice",
            schedule=schedule,
            policies=policies,
        )
        return job.id

    def test_expired_logs_are_deleted_from_store_and_view_and_recorded_on_the_run(
        self, system: System, sweep: RetentionSweep, clock: FakeClock
    ) -> None:
        job = self.register(system, "nightly", log_retention_days=2, keep_last_runs=1)
        kept_default = self.register(system, "defaults")  # 30 days by default
        old = [finished_run(system, job), finished_run(system, job, ok=False)]
        newest = finished_run(system, job)
        other = finished_run(system, kept_default)
        queued = system.app.request_run(job, actor="alice")
        system.catch_up()
        before_entries = system.logs.count_entries()
        before_bytes = sweep.store.store_bytes()

        clock.at += timedelta(days=1)
        assert sweep.run().runs == []  # not old enough yet

        clock.at += timedelta(days=2)
        dry = sweep.run(dry_run=True)
        assert {(r.run_id, r.entries) for r in dry.runs} == {(r.id, LINES) for r in old}
        assert all(log_rows(system, r.id) for r in old)  # a dry run deletes nothing

        report = sweep.run()
        system.catch_up()
        assert {r.run_id for r in report.runs} == {r.id for r in old}
        assert report.entries_purged == 2 * LINES
        for run in old:
            assert log_rows(system, run.id) == 0  # physically gone from the event store
            assert system.logs.entries(run.id)[0] == []
            events = list(system.app.recorder.select_events(run.id))
            last = system.app.mapper.to_domain_event(events[-1])
            assert isinstance(last, Run.LogPurged)
            assert (last.entries, last.reason) == (LINES, "log_retention_days=2")
            row = system.runs.get_run(run.id)
            assert row is not None and row["log_purged_entries"] == LINES
            assert row["log_purged_at"] is not None and row["status"] == run.status
        # The newest run (keep_last_runs=1), a job on the 30-day default, a queued run: kept.
        for run_id in (newest.id, other.id):
            assert len(system.logs.entries(run_id, limit=1000)[0]) == LINES
        assert system.runs.get_run(queued.id)["log_purged_at"] is None  # type: ignore[index]
        assert system.logs.count_entries() == before_entries - 2 * LINES
        assert sweep.store.purged_entries() == 2 * LINES
        text = render_metrics(system, datetime.now(UTC), Health("reachable", 0))
        assert f"jobledger_log_entries_purged_total {2 * LINES}" in text
        assert "jobledger_store_bytes " in text
        assert 0 < sweep.store.store_bytes() <= before_bytes * 2
        assert sweep.run().runs == []  # each log is purged once

        live = snapshot(system)
        system.rebuild_projections()  # reads fewer notifications: the gaps are skipped
        assert set(system.follower.positions().values()) == {
            system.app.recorder.max_notification_id()
        }
        assert dump(snapshot(system)) == dump(live)  # purged logs stay purged

    def test_the_scheduler_process_sweeps_at_start_and_reports_its_loop(
        self, system: System, clock: FakeClock
    ) -> None:
        job = self.register(system, "swept", log_retention_days=0)
        run = finished_run(system, job)
        self.register(system, "later")  # the log's events are not the newest
        system.catch_up()
        clock.at = datetime.now(UTC)
        reports: list[SweepReport] = []
        swept = threading.Event()

        def on_sweep(report: SweepReport) -> None:
            reports.append(report)
            swept.set()

        settings = RetentionSettings(interval_seconds=3600)
        handle = start_retention(
            system.app, system.backend, settings, clock=clock, on_sweep=on_sweep
        )
        assert handle is not None
        try:
            assert swept.wait(30)
            assert handle.state().healthy
        finally:
            handle.stop()
        assert [r.run_id for r in reports[0].runs] == [run.id]
        assert log_rows(system, run.id) == 0
        assert (
            start_retention(system.app, system.backend, RetentionSettings(interval_seconds=0))
            is None
        )

    def test_logs_are_archived_before_they_go_and_only_administrators_download_them(
        self, system: System, clock: FakeClock, tmp_path: Path
    ) -> None:
        archive_dir = tmp_path / "archive"
        job = self.register(system, "archived", log_retention_days=0)
        run = finished_run(system, job, lines=3)
        self.register(system, "later")
        system.catch_up()
        clock.at = datetime.now(UTC)
        settings = RetentionSettings(archive_dir=archive_dir)
        sweep = retention_sweep(system.app, system.backend, settings, clock=clock)
        try:
            assert [r.run_id for r in sweep.run().runs] == [run.id]
        finally:
            sweep.store.close()
        assert log_rows(system, run.id) == 0
        path = archive_dir / f"{run.id}.log.gz"
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        lines = gzip.decompress(path.read_bytes()).decode().splitlines()
        assert [line.split(" ", 1)[1] for line in lines] == [f"Info    line {i}" for i in range(3)]
        assert lines[0].split(" ")[0].endswith("Z")

        system = replace(system, settings=replace(system.settings, retention=settings))
        tokens = system.backend.token_store()
        _p, admin = system.app.create_token(tokens, "admin", "admin", actor="t")
        _p, viewer = system.app.create_token(tokens, "viewer", "viewer", actor="t")
        server = BackgroundServer(create_app(system, tokens), "127.0.0.1", 0).start()
        try:

            def get(path: str, token: str) -> tuple[int, bytes]:
                request = urllib.request.Request(
                    server.url + path, headers={"Authorization": f"Bearer {token}"}
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        return response.status, response.read()
                except urllib.error.HTTPError as error:
                    return error.code, error.read()

            status, body = get(f"/api/runs/{run.id}/log-archive", admin)
            assert status == 200 and gzip.decompress(body).decode().splitlines() == lines
            assert get(f"/api/runs/{run.id}/log-archive", viewer)[0] == 403
            assert get(f"/api/runs/{job}/log-archive", admin)[0] == 404
        finally:
            server.stop()
            tokens.close()

    def test_the_api_sets_a_jobs_retention_and_refuses_bad_values_naming_each(
        self, system: System
    ) -> None:
        tokens = system.backend.token_store()
        _p, admin = system.app.create_token(tokens, "admin", "admin", actor="t")
        server = BackgroundServer(create_app(system, tokens), "127.0.0.1", 0).start()

        def call(method: str, path: str, body: Any) -> tuple[int, Any]:
            request = urllib.request.Request(
                server.url + path,
                method=method,
                data=orjson.dumps(body),
                headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status, orjson.loads(response.read())
            except urllib.error.HTTPError as error:
                return error.code, orjson.loads(error.read())

        try:
            job = {"name": "kept", "job_type": "command", "program": {"argv": ["true"]}}
            status, created = call("POST", "/api/jobs", {**job, "log_retention_days": 0})
            assert status == 201, created
            assert (created["log_retention_days"], created["run_retention_days"]) == (0, None)
            status, changed = call("PATCH", f"/api/jobs/{created['id']}", {"keep_last_runs": 5})
            assert status == 200 and changed["keep_last_runs"] == 5, changed
            status, refused = call(
                "POST",
                "/api/jobs",
                {**job, "name": "bad", "log_retention_days": -1, "run_retention_days": 0},
            )
            assert status == 422
            text = orjson.dumps(refused).decode()
            assert "log_retention_days" in text and "run_retention_days" in text
        finally:
            server.stop()
            tokens.close()

    def test_a_log_is_archived_only_once_the_logs_view_holds_all_of_it(
        self, system: System, clock: FakeClock, tmp_path: Path
    ) -> None:
        job = self.register(system, "lagging", log_retention_days=0)
        run = finished_run(system, job, lines=5)
        self.register(system, "later")
        runs = next(p for p in system.projections if p.name == "runs")
        from projections.follower import EventFollower

        EventFollower(system.app.recorder, system.app.mapper, [runs]).catch_up()
        clock.at = datetime.now(UTC)
        settings = RetentionSettings(archive_dir=tmp_path / "archive")
        sweep = retention_sweep(system.app, system.backend, settings, clock=clock)
        try:
            first = sweep.run()
            assert (first.runs, first.deferred) == ([], 1)
            assert not (tmp_path / "archive" / f"{run.id}.log.gz").exists()
            system.catch_up()
            assert [r.entries for r in sweep.run().runs] == [5]
        finally:
            sweep.store.close()
        archived = gzip.decompress((tmp_path / "archive" / f"{run.id}.log.gz").read_bytes())
        assert len(archived.decode().splitlines()) == 5

    def test_log_retention_zero_purges_at_the_first_sweep_after_the_run_ends(
        self, system: System, sweep: RetentionSweep, clock: FakeClock
    ) -> None:
        job = self.register(system, "sensitive", log_retention_days=0)
        done = finished_run(system, job)
        running = system.app.request_run(job, actor="alice")
        log = system.app.open_run_log(running)
        system.app.record_log_entries(log, [(datetime.now(UTC), LogLevel.Info, "secret-ish")])
        system.app.start_run(running.id, worker="w1")
        system.catch_up()
        clock.at = datetime.now(UTC)
        report = sweep.run()
        assert [r.run_id for r in report.runs] == [done.id]
        assert log_rows(system, done.id) == 0
        assert log_rows(system, running.id) == 2  # still running: kept (opened, entries)

    def test_a_log_the_logs_view_has_not_processed_waits_for_a_later_sweep(
        self, system: System, sweep: RetentionSweep, clock: FakeClock
    ) -> None:
        job = self.register(system, "fresh", log_retention_days=0)
        first = finished_run(system, job)
        system.catch_up()
        second = finished_run(system, job)  # the runs view has not seen it finish...
        system.follower.catch_up()
        extra = finished_run(system, job)  # ...and this one's log the logs view has not read
        runs = next(p for p in system.projections if p.name == "runs")
        # Only the runs view catches up: it lists `extra` as finished, the logs view lags.
        from projections.follower import EventFollower

        EventFollower(system.app.recorder, system.app.mapper, [runs]).catch_up()
        clock.at = datetime.now(UTC)
        report = sweep.run()
        assert {r.run_id for r in report.runs} == {first.id, second.id}
        assert report.deferred == 1 and log_rows(system, extra.id) > 0
        system.catch_up()
        assert [r.run_id for r in sweep.run().runs] == [extra.id]
        assert log_rows(system, extra.id) == 0
        system.rebuild_projections()
        assert system.logs.entries(extra.id)[0] == []

    def test_a_sweep_killed_between_the_event_and_the_deletion_is_finished_by_the_next(
        self, system: System, sweep: RetentionSweep, clock: FakeClock
    ) -> None:
        job = self.register(system, "interrupted", log_retention_days=1)
        run = finished_run(system, job)
        self.register(system, "later")  # the log's events are not the newest
        system.catch_up()
        store = sweep.store

        class Killed(Exception):
            pass

        def killed(run_id: UUID) -> int | None:
            raise Killed  # the process dies after LogPurged is saved, before the deletion

        clock.at += timedelta(days=2)
        real_purge = store.purge_log
        store.purge_log = killed  # type: ignore[method-assign]
        with pytest.raises(Killed):
            sweep.run()
        store.purge_log = real_purge  # type: ignore[method-assign]
        events = [
            system.app.mapper.to_domain_event(e) for e in system.app.recorder.select_events(run.id)
        ]
        assert isinstance(events[-1], Run.LogPurged) and events[-1].entries == LINES
        assert log_rows(system, run.id) > 0 and store.pending_purges() == [run.id]

        # A new sweep (a restarted process) on a store of its own finishes the deletion.
        again = retention_sweep(system.app, system.backend, RetentionSettings(), clock=clock)
        try:
            report = again.run()
            assert (report.resumed, report.runs) == (1, [])
            assert again.store.pending_purges() == []
            assert again.store.purged_entries() == LINES
            # A second sweep racing on the run (it marked it and lost the event's save)
            # deletes what is left, nothing, and counts nothing again.
            again.store.mark_purge(run.id, LINES)
            assert again.store.purge_log(run.id) == 0
            assert again.store.purged_entries() == LINES
            assert again.store.pending_purges() == []
        finally:
            again.store.close()
        assert log_rows(system, run.id) == 0
        system.catch_up()
        assert system.logs.entries(run.id)[0] == []
        row = system.runs.get_run(run.id)
        assert row is not None and row["log_purged_entries"] == LINES
        events = [
            system.app.mapper.to_domain_event(e) for e in system.app.recorder.select_events(run.id)
        ]
        assert sum(isinstance(e, Run.LogPurged) for e in events) == 1

    def test_an_expired_run_is_reduced_and_its_slot_never_fires_again(
        self, system: System, sweep: RetentionSweep, clock: FakeClock
    ) -> None:
        job = self.register(
            system,
            "daily",
            schedule={"cron": "0 2 * * *", "timezone": "UTC"},
            run_retention_days=3,
            misfire="run_all",
            overlap="allow",
        )
        # Slots after the job's registration (real time), so the restart catches up on them.
        tomorrow = datetime.now(UTC) + timedelta(days=1)
        slot = tomorrow.replace(hour=2, minute=0, second=0, microsecond=0)
        scheduler_clock = FakeClock(slot - timedelta(hours=1))
        first = Scheduler(system.app, scheduler_clock, MemoryCheckpoint(slot - timedelta(hours=1)))
        first.start()
        scheduler_clock.at = slot + timedelta(seconds=1)
        first.tick()
        system.catch_up()
        (row,) = system.runs.list_runs(job_id=job)[0]
        assert row["scheduled_for"] == slot
        run_id = row["id"]
        log = system.app.open_run_log(system.app.repository.get(run_id))
        system.app.record_log_entries(log, [(datetime.now(UTC), LogLevel.Info, "x")])
        system.app.start_run(run_id, worker="w1")
        system.app.succeed_run(run_id)
        system.catch_up()

        clock.at += timedelta(days=4)
        report = sweep.run()
        assert [(r.run_id, r.due, r.entries) for r in report.runs] == [(run_id, Due.REDUCTION, 1)]
        system.catch_up()
        assert system.runs.get_run(run_id) is None  # gone from the views
        assert log_rows(system, run_id) == 0
        stream = [
            system.app.mapper.to_domain_event(e) for e in system.app.recorder.select_events(run_id)
        ]
        assert [type(e) for e in stream][-2:] == [Run.LogPurged, Run.Reduced]

        # A scheduler restarted from a watermark before the slot catches up on every
        # missed slot (run_all): all but the reduced one.
        restarted = Scheduler(
            system.app,
            FakeClock(slot + timedelta(days=2, hours=1)),
            MemoryCheckpoint(slot - timedelta(minutes=1)),
            rules=FiringRules(misfire_grace=timedelta(seconds=60)),
        )
        restarted.start()
        restarted.tick()
        system.catch_up()
        fired = sorted(r["scheduled_for"] for r in system.runs.list_runs(job_id=job)[0])
        assert fired == [slot + timedelta(days=1), slot + timedelta(days=2)]
        assert len(list(system.app.recorder.select_events(run_id))) == len(stream)


class TestRetentionOnSQLite(RetentionContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> StoreSettings:
        return StoreSettings(kind="sqlite", sqlite_path=tmp_path / "data" / "jobledger.sqlite3")

    def test_a_new_store_gives_space_back_after_a_sweep(
        self, system: System, sweep: RetentionSweep, clock: FakeClock
    ) -> None:
        job = self.register(system, "bulky", log_retention_days=1)
        runs = [finished_run(system, job, lines=2000) for _ in range(5)]
        system.catch_up()
        full = sweep.store.store_bytes()
        clock.at += timedelta(days=2)
        assert len(sweep.run().runs) == len(runs)
        assert sweep.store.store_bytes() < full / 2  # incremental vacuum shrank the file

    def test_the_newest_row_of_the_store_is_never_deleted(
        self, system: System, sweep: RetentionSweep, clock: FakeClock
    ) -> None:
        # SQLite would give its rowid out again; the followers have passed it.
        job = self.register(system, "last", log_retention_days=0)
        run = finished_run(system, job)
        log = system.app.run_log(run.id)
        system.app.record_log_entries(log, [(datetime.now(UTC), LogLevel.Info, "late")])
        system.catch_up()
        clock.at = datetime.now(UTC)
        report = sweep.run()
        assert report.runs == [] and report.deferred == 1
        self.register(system, "anything later")
        system.catch_up()
        assert [r.run_id for r in sweep.run().runs] == [run.id]


@pytest.mark.postgres
class TestRetentionOnPostgres(RetentionContract):
    @pytest.fixture
    def store(self, pg_schema: tuple[str, str]) -> StoreSettings:
        url, schema = pg_schema
        return parse_database_url(f"{url}?schema={schema}")
