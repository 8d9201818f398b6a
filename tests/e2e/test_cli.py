"""The command line as a user runs it: real processes on a real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

SECRET = "tok-7c1e9a0f-never-shown"
JOBLEDGER = [sys.executable, "-m", "interfaces.cli.main"]
LONDON = ZoneInfo("Europe/London")


class CommandLineContract:
    @pytest.fixture
    def env(self, tmp_path: Path) -> dict[str, str]:
        raise NotImplementedError

    @pytest.fixture
    def cli(self, env):
        def run(
            *args: str, stdin: str | None = None, expect: int = 0
        ) -> subprocess.CompletedProcess[str]:
            done = subprocess.run(
                [*JOBLEDGER, *args],
                input=stdin,
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
            )
            assert done.returncode == expect, (done.stdout, done.stderr)
            assert SECRET not in done.stdout + done.stderr
            return done

        return run

    def create(self, cli) -> str:
        done = cli(
            "jobs", "create", "--name", "Invoice sync", "--type", "command",
            "--program", '{"argv": ["python3", "sync.py"]}',
            "--parameters", '{"tenant": "acme"}',
            "--cron", "0 2 * * *", "--timezone", "Europe/London", "--log-level", "Warning",
        )  # fmt: skip
        return done.stdout.strip()

    def test_a_user_creates_lists_shows_and_replays_a_job(self, cli):
        job_id = self.create(cli)
        cli("secrets", "set", job_id, "API_KEY", stdin=SECRET + "\n")
        listed = json.loads(cli("jobs", "list", "--json").stdout)
        assert [j["name"] for j in listed] == ["Invoice sync"]
        shown = json.loads(cli("jobs", "show", job_id, "--json").stdout)
        assert [s["name"] for s in shown["secrets"]] == ["API_KEY"]
        history = json.loads(cli("jobs", "history", job_id, "--json").stdout)
        assert [h["event"] for h in history] == ["Registered", "SecretStored"]
        assert history[1]["changes"] == {"secrets.API_KEY": {"from": None, "to": "(set)"}}
        first = json.loads(cli("jobs", "show", job_id, "--version", "1", "--json").stdout)
        assert first["secrets"] == [] and first["version"] == 1
        at = history[0]["at"]
        assert json.loads(cli("jobs", "show", job_id, "--at", at, "--json").stdout)["version"] == 1
        cli("projections", "rebuild")
        assert json.loads(cli("jobs", "list", "--json").stdout)[0]["id"] == job_id

    def test_show_at_the_second_history_prints_includes_the_events_within_it(self, cli):
        job_id = self.create(cli)
        table = cli("jobs", "history", job_id).stdout.splitlines()
        shown_second = table[1].split()[1]  # the AT column, to the second, as people see it
        history = json.loads(cli("jobs", "history", job_id, "--json").stdout)
        assert datetime.fromisoformat(history[0]["at"]).replace(microsecond=0) == (
            datetime.fromisoformat(shown_second)
        )
        then = json.loads(cli("jobs", "show", job_id, "--at", shown_second, "--json").stdout)
        assert then["name"] == "Invoice sync" and then["version"] == 1
        # A precise time stays precise: a microsecond before the job existed, it did not.
        before = datetime.fromisoformat(history[0]["at"]) - timedelta(microseconds=1)
        if before.microsecond:  # (a fraction of 0 would mean its whole second)
            done = cli("jobs", "show", job_id, "--at", before.isoformat(), expect=2)
            assert "at" in done.stderr

    def test_show_prints_the_next_run_and_the_schedule_once(self, cli):
        job_id = self.create(cli)
        lines = cli("jobs", "show", job_id).stdout.splitlines()
        fields = {line.split(None, 1)[0]: line.split(None, 1)[-1] for line in lines}
        next_run = datetime.fromisoformat(fields["next_run_at"])
        assert next_run > datetime.now(UTC) and next_run.astimezone(LONDON).hour == 2
        assert [line for line in lines if "0 2 * * *" in line] == [
            'schedule                {"cron":"0 2 * * *","timezone":"Europe/London"}'
        ]
        assert not any(key.startswith("schedule_cron") for key in fields)
        shown = json.loads(cli("jobs", "show", job_id, "--json").stdout)
        assert datetime.fromisoformat(shown["next_run_at"]) == next_run
        assert shown["schedule"] == {"cron": "0 2 * * *", "timezone": "Europe/London"}

    def test_bad_input_exits_2_naming_the_field(self, cli):
        done = cli(
            "jobs", "create", "--name", "x", "--type", "command", "--program", '{"argv": []}',
            expect=2,
        )  # fmt: skip
        assert "program.argv" in done.stderr
        done = cli(
            "jobs", "create", "--name", "x", "--type", "command",
            "--program", '{"argv": ["true"]}', "--cron", "61 * * * *", expect=2,
        )  # fmt: skip
        assert "schedule.cron" in done.stderr
        assert json.loads(cli("jobs", "list", "--json").stdout) == []

    def test_a_taken_name_exits_1_naming_the_name(self, cli):
        self.create(cli)
        done = cli(
            "jobs", "create", "--name", "INVOICE SYNC ", "--type", "command",
            "--program", '{"argv": ["true"]}', expect=1,
        )  # fmt: skip
        assert "name" in done.stderr and "INVOICE SYNC" in done.stderr
        assert len(json.loads(cli("jobs", "list", "--json").stdout)) == 1

    def test_unknown_job_exits_1(self, cli):
        done = cli("jobs", "show", "00000000-0000-0000-0000-000000000001", expect=1)
        assert "not found" in done.stderr

    def test_deleting_a_job_hides_it_but_keeps_its_history(self, cli):
        job_id = self.create(cli)
        cli("jobs", "delete", job_id)
        cli("jobs", "show", job_id, expect=1)
        history = json.loads(cli("jobs", "history", job_id, "--json").stdout)
        assert history[-1]["event"] == "Deleted"

    def test_help_is_on_every_command(self, cli):
        for command in (["jobs", "create"], ["secrets", "set"], ["projections", "rebuild"],
                        ["keys", "rotate"], ["serve"]):  # fmt: skip
            assert "usage: jobledger" in cli(*command, "--help").stdout


class TestCommandLineOnSQLite(CommandLineContract):
    @pytest.fixture
    def env(self, tmp_path: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBLEDGER_")}
        env["JOBLEDGER_DATA_DIR"] = str(tmp_path / "data")
        return env

    def test_the_first_start_creates_a_private_master_key_and_says_so_once(self, cli, tmp_path):
        first = cli("jobs", "list")
        assert "master key" in first.stderr
        key = tmp_path / "data" / "master.key"
        assert key.stat().st_mode & 0o777 == 0o600
        assert "master key" not in cli("jobs", "list").stderr

    def test_no_secret_reaches_the_database_files(self, cli, tmp_path):
        job_id = self.create(cli)
        cli("secrets", "set", job_id, "API_KEY", stdin=SECRET)
        cli("jobs", "list")
        for path in (tmp_path / "data").iterdir():
            assert SECRET.encode() not in path.read_bytes(), path

    def test_keys_rotate_keeps_secrets_readable(self, cli, tmp_path):
        job_id = self.create(cli)
        cli("secrets", "set", job_id, "API_KEY", stdin=SECRET)
        before = (tmp_path / "data" / "master.key").read_bytes()
        assert "Rewrapped 1 data keys" in cli("keys", "rotate").stdout
        assert (tmp_path / "data" / "master.key").read_bytes() != before


@pytest.mark.postgres
class TestCommandLineOnPostgres(CommandLineContract):
    @pytest.fixture
    def env(self, tmp_path: Path, pg_schema) -> dict[str, str]:
        url, schema = pg_schema
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBLEDGER_")}
        env["JOBLEDGER_DATA_DIR"] = str(tmp_path / "data")
        env["JOBLEDGER_DATABASE_URL"] = f"{url}?schema={schema}"
        return env
