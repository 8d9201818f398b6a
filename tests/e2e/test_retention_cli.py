"""`jobledger retention run` as a user runs it: a real process on a real store, real time
(a job with log_retention_days 0, whose logs go at the first sweep after the run ends)."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.event_store_config import parse_database_url
from domain.log_level import LogLevel
from domain.run_log import run_log_id
from interfaces.bootstrap import System, build
from interfaces.settings import Settings

JOBLEDGER = [sys.executable, "-m", "interfaces.cli.main"]


class RetentionCommandContract:
    @pytest.fixture
    def env(self, tmp_path: Path) -> dict[str, str]:
        raise NotImplementedError

    @pytest.fixture
    def system(self, env: dict[str, str]) -> Iterator[System]:
        system = build(Settings.from_env(env), announce=lambda _message: None)
        yield system
        system.close()

    def cli(self, env: dict[str, str], *args: str, expect: int = 0) -> str:
        done = subprocess.run(
            [*JOBLEDGER, *args], capture_output=True, text=True, env=env, timeout=120
        )
        assert done.returncode == expect, (done.stdout, done.stderr)
        return done.stdout + done.stderr

    def test_dry_run_lists_what_would_go_and_run_deletes_it(self, env, system) -> None:
        app = system.app
        job = app.register_job(
            name="sensitive",
            job_type="command",
            program={"argv": ["true"]},
            actor="alice",
            policies={"log_retention_days": 0},
        )
        run = app.request_run(job.id, actor="alice")
        log = app.open_run_log(run)
        app.record_log_entries(
            log, [(datetime.now(UTC), LogLevel.Info, f"row {i}") for i in range(40)]
        )
        app.start_run(run.id, worker="w1")
        app.succeed_run(run.id)
        app.register_job(name="later", job_type="command", program={"argv": ["true"]}, actor="a")

        dry = json.loads(self.cli(env, "retention", "run", "--dry-run", "--json"))
        assert dry["dry_run"] is True and dry["entries_purged"] == 40
        assert [r["run_id"] for r in dry["runs"]] == [str(run.id)]
        assert len(app.recorder.select_events(run_log_id(run.id))) == 2  # untouched

        done = json.loads(self.cli(env, "retention", "run", "--json"))
        assert (done["logs_purged"], done["entries_purged"]) == (1, 40)
        assert app.recorder.select_events(run_log_id(run.id)) == []
        system.catch_up()
        assert system.logs.entries(run.id)[0] == []
        assert system.runs.get_run(run.id)["log_purged_entries"] == 40  # type: ignore[index]
        assert "purged 0 logs" in self.cli(env, "retention", "run")

    def test_jobs_create_takes_the_retention_fields_and_names_bad_ones(self, env, system) -> None:
        program = '{"argv": ["true"]}'
        base = ["jobs", "create", "--type", "command", "--program", program]
        made = json.loads(
            self.cli(env, *base, "--name", "kept", "--log-retention-days", "0",
                     "--keep-last-runs", "3", "--json")
        )  # fmt: skip
        assert made["policies"]["log_retention_days"] == 0
        assert made["policies"]["keep_last_runs"] == 3
        text = self.cli(
            env, *base, "--name", "bad", "--log-retention-days", "-1",
            "--run-retention-days", "0", expect=2,
        )  # fmt: skip
        assert "invalid log_retention_days" in text and "invalid run_retention_days" in text

    def test_vacuum_converts_a_sqlite_store_and_is_a_no_op_on_postgres(self, env, system) -> None:
        path = system.settings.store.sqlite_path
        if path is not None:  # made as a store of an earlier version: no incremental vacuum
            with contextlib.closing(sqlite3.connect(path)) as db:
                db.executescript("PRAGMA auto_vacuum = NONE; VACUUM;")
                assert db.execute("PRAGMA auto_vacuum").fetchone() == (0,)
        text = self.cli(env, "retention", "vacuum")
        if path is not None:
            assert "vacuumed" in text and "incremental from now on" in text
            with contextlib.closing(sqlite3.connect(path)) as db:
                assert db.execute("PRAGMA auto_vacuum").fetchone() == (2,)
        else:
            assert "nothing to do" in text

    def test_bad_retention_settings_exit_2_naming_every_variable(self, env, system) -> None:
        bad = {
            **env,
            "JOBLEDGER_LOG_RETENTION_DAYS": "-1",
            "JOBLEDGER_RUN_RETENTION_DAYS": "soon",
        }
        text = self.cli(bad, "retention", "run", expect=2)
        assert "JOBLEDGER_LOG_RETENTION_DAYS" in text and "JOBLEDGER_RUN_RETENTION_DAYS" in text


class TestRetentionCommandOnSQLite(RetentionCommandContract):
    @pytest.fixture
    def env(self, tmp_path: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBLEDGER_")}
        env["JOBLEDGER_DATA_DIR"] = str(tmp_path / "data")
        return env


@pytest.mark.postgres
class TestRetentionCommandOnPostgres(RetentionCommandContract):
    @pytest.fixture
    def env(self, tmp_path: Path, pg_schema) -> dict[str, str]:
        url, schema = pg_schema
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBLEDGER_")}
        env["JOBLEDGER_DATA_DIR"] = str(tmp_path / "data")
        env["JOBLEDGER_DATABASE_URL"] = f"{url}?schema={schema}"
        assert parse_database_url(env["JOBLEDGER_DATABASE_URL"]).schema == schema
        return env
