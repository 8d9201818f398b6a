"""The read models as the running system keeps them: live, after a crash, and rebuilt.

Rebuilt views must equal the live ones; a follower that dies mid-way resumes where its
views' tracking says and ends in the same state; no view holds a secret's value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapters.event_store_config import StoreSettings, parse_database_url
from domain.log_level import LogLevel
from interfaces.bootstrap import System, build
from interfaces.settings import Settings
from projections.audit import ACTIONS
from projections.follower import EventFollower

SECRET = "hunter2-plain-value-never-in-a-view"


def make_history(system: System) -> list[Any]:
    app = system.app
    jobs = []
    for i in range(6):
        job = app.register_job(
            name=f"job {i}",
            job_type="command",
            program={"argv": ["run", str(i)]},
            actor="alice",
            parameters={"n": i},
            schedule={"cron": f"{i} 2 * * *", "timezone": "Europe/London"},
            secrets={"API_KEY": SECRET},
        )
        jobs.append(job)
    app.update_job(jobs[0].id, {"name": "renamed"}, actor="bob")
    app.update_job(jobs[1].id, {"log_level": "Debug"}, actor="bob")
    app.disable_job(jobs[2].id, actor="carol")
    app.store_secret(jobs[3].id, "OTHER", SECRET + "-2", actor="carol")
    app.remove_secret(jobs[3].id, "API_KEY", actor="carol")
    app.delete_job(jobs[5].id, actor="alice")
    now = datetime.now(UTC)
    for job in jobs[:4]:
        for attempt in range(3):
            run = app.request_run(
                job.id, actor="bob", parameters={"attempt": attempt}, override_any=True
            )
            log = app.open_run_log(run)
            # Only entries at or above the run's threshold: the worker's sink filters the rest.
            threshold = LogLevel.parse(run.log_level)
            lines = [(now, LogLevel(level), f"{job.name} line {level}") for level in (10, 30, 50)]
            app.record_log_entries(log, [line for line in lines if line[1] >= threshold])
            if attempt == 0:
                continue
            app.start_run(run.id, worker="w1")
            if attempt == 1:
                app.succeed_run(run.id)
            else:
                app.fail_run(run.id, exit_code=2, error="boom")
    # Who ran, cancelled and got access: on the audit trail, rebuilt like the rest.
    cancelled = app.request_run(
        jobs[0].id, actor="token:bob", parameters={"tenant": "x"}, override_any=True
    )
    app.cancel_run(cancelled.id, actor="token:carol")
    tokens = system.backend.token_store()
    try:
        principal, _plain = app.create_token(tokens, "replayed", "viewer", actor="cli:alice")
        app.revoke_token(tokens, "replayed", actor="cli:alice")
    finally:
        tokens.close()
    app.record_sign_in(principal, client="10.0.0.1")
    app.record_failed_sign_in(client="10.0.0.2")
    # A webhook trigger: made, called (one run), refused once, revoked.
    trigger, _token = app.create_trigger(jobs[1].id, "tickets", actor="token:alice")
    app.request_webhook_run(trigger, app.trigger_job(trigger), {}, client="10.0.0.3")
    app.record_webhook_refused(str(trigger.id), trigger, client="10.0.0.4", status=401, reason="r")
    app.revoke_trigger(jobs[1].id, trigger.id, actor="token:alice")
    # A notification channel: made (with a secret), changed, tested, deleted.
    channel = app.create_channel(
        name="on-call",
        type="webhook",
        config={"url": "https://hooks.example.com/jl"},
        secrets={"signing_secret": SECRET + "-channel"},
        actor="token:alice",
    )
    app.update_channel(channel.id, {"name": "pager"}, actor="token:alice")
    app.update_channel(channel.id, {"secrets": {"signing_secret": None}}, actor="token:bob")
    app.request_test_notification(channel.id, actor="token:bob", now=datetime.now(UTC))
    app.delete_channel(channel.id, actor="token:carol")
    return jobs


def snapshot(system: System, jobs: list[Any]) -> dict[str, Any]:
    jobs_view, runs_view = system.jobs, system.runs
    logs_view, audit_view = system.logs, system.audit
    runs, _ = runs_view.list_runs(limit=1000)
    return {
        "jobs": jobs_view.list_jobs(limit=1000)[0],
        "job": [jobs_view.get_job(j.id) for j in jobs],
        "runs": runs,
        "runs_by_status": runs_view.count_by_status(),
        "logs": [logs_view.entries(r["id"], limit=1000)[0] for r in runs],
        "audit": audit_view.entries(limit=1000)[0],
        "history": [audit_view.history(j.id) for j in jobs],
    }


def dump(value: Any) -> bytes:
    return orjson.dumps(value, default=str, option=orjson.OPT_SORT_KEYS)


class ReplayContract:
    @pytest.fixture
    def store(self) -> StoreSettings:
        raise NotImplementedError

    @pytest.fixture
    def system(self, store, tmp_path: Path):
        system = build(
            Settings(store=store, data_dir=tmp_path / "data", master_key=None),
            announce=lambda _message: None,
        )
        yield system
        system.close()

    def test_live_views_follow_commands_and_a_rebuild_reproduces_them(self, system):
        system.start_projections()
        jobs = make_history(system)
        last = system.app.recorder.max_notification_id()
        assert system.follower.wait_until(last, timeout=30)
        live = snapshot(system, jobs)
        assert len(live["jobs"]) == 5  # one was deleted
        counts = {k: v for k, v in live["runs_by_status"].items() if v}
        assert counts == {"queued": 5, "succeeded": 4, "failed": 4, "cancelled": 1}
        actions = {entry["action"] for entry in live["audit"]}
        assert actions == set(ACTIONS)
        assert SECRET.encode() not in dump(live)
        # Stop the live follower before rebuilding: rebuild owns the views while it runs.
        system.close_projections()
        assert system.rebuild_projections() == last
        assert dump(snapshot(system, jobs)) == dump(live)

    def test_a_follower_that_dies_mid_way_resumes_to_the_same_state(self, system):
        jobs = make_history(system)
        expected_last = system.app.recorder.max_notification_id()

        class Crash(Exception):
            pass

        runs = next(p for p in system.projections if p.name == "runs")
        original = runs.process_batch
        calls = {"n": 0}

        def crash_on_third(events, tracking):
            calls["n"] += 1
            if calls["n"] == 3:
                raise Crash
            original(events, tracking)

        runs.process_batch = crash_on_third  # type: ignore[method-assign]
        small = EventFollower(
            system.app.recorder, system.app.mapper, system.projections, batch_size=7
        )
        with pytest.raises(Crash):
            small.catch_up()
        positions = small.positions()
        assert 0 < positions["runs"] < expected_last
        runs.process_batch = original  # type: ignore[method-assign]
        resumed = EventFollower(
            system.app.recorder, system.app.mapper, system.projections, batch_size=7
        )
        resumed.catch_up()
        assert set(resumed.positions().values()) == {expected_last}
        after_crash = snapshot(system, jobs)
        system.rebuild_projections()
        assert dump(snapshot(system, jobs)) == dump(after_crash)

    def test_two_followers_racing_apply_each_batch_once(self, system):
        jobs = make_history(system)
        first = EventFollower(
            system.app.recorder, system.app.mapper, system.projections, batch_size=5
        )
        second = EventFollower(
            system.app.recorder, system.app.mapper, system.projections, batch_size=3
        )
        import threading

        threads = [threading.Thread(target=f.catch_up) for f in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        raced = snapshot(system, jobs)
        system.rebuild_projections()
        assert dump(snapshot(system, jobs)) == dump(raced)


class TestReplayOnSQLite(ReplayContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> StoreSettings:
        return StoreSettings(kind="sqlite", sqlite_path=tmp_path / "data" / "jobledger.sqlite3")


@pytest.mark.postgres
class TestReplayOnPostgres(ReplayContract):
    @pytest.fixture
    def store(self, pg_schema) -> StoreSettings:
        url, schema = pg_schema
        return parse_database_url(f"{url}?schema={schema}")


def test_a_batch_from_a_stale_position_is_refused_whole(tmp_path: Path) -> None:
    from eventsourcing.persistence import IntegrityError

    from projections.base import BatchTracking

    store = StoreSettings(kind="sqlite", sqlite_path=tmp_path / "data" / "jobledger.sqlite3")
    system = build(Settings(store, tmp_path / "data", None), announce=lambda _m: None)
    try:
        jobs = make_history(system)
        system.catch_up()
        before = dump(snapshot(system, jobs))
        audit = next(p for p in system.projections if p.name == "audit")
        events = list(system.app.job_history(jobs[0].id))
        last = system.app.recorder.max_notification_id()
        with pytest.raises(IntegrityError):
            audit.process_batch(events, BatchTracking("audit", last + 1, previous=1))
        assert dump(snapshot(system, jobs)) == before
    finally:
        system.close()
