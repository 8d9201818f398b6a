"""The command line as a user runs it: real processes on a real store."""

from __future__ import annotations

import base64
import getpass
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import pytest

from adapters.event_store_config import parse_database_url
from interfaces.bootstrap import build
from interfaces.settings import Settings

SECRET = "tok-7c1e9a0f-never-shown"
PASSWORD = "pw-5d2b-never-shown"
JOBLEDGER = [sys.executable, "-m", "interfaces.cli.main"]
LONDON = ZoneInfo("Europe/London")


class CommandLineContract:
    @pytest.fixture
    def env(self, tmp_path: Path) -> dict[str, str]:
        raise NotImplementedError

    @pytest.fixture
    def elsewhere(self, tmp_path: Path) -> Path:
        """Another directory than the store's, where a user might run a command."""
        path = tmp_path / "elsewhere"
        path.mkdir()
        return path

    @pytest.fixture
    def bare_cli(self, env, elsewhere: Path):
        """The command line on the configured store, which does not exist yet, run from
        another directory."""

        def run(
            *args: str, stdin: str | None = None, expect: int = 0
        ) -> subprocess.CompletedProcess[str]:
            done = subprocess.run(
                [*JOBLEDGER, *args],
                input=stdin,
                capture_output=True,
                text=True,
                env=env,
                cwd=elsewhere,
                timeout=60,
            )
            assert done.returncode == expect, (done.stdout, done.stderr)
            assert SECRET not in done.stdout + done.stderr
            assert PASSWORD not in done.stdout + done.stderr
            return done

        return run

    @pytest.fixture
    def cli(self, bare_cli):
        """The command line on a store made with `jobledger init`."""
        assert "Created a JobLedger store" in bare_cli("init").stdout
        return bare_cli

    def store_name(self, env: dict[str, str]) -> str:
        raise NotImplementedError

    def test_no_command_but_serve_and_init_creates_a_store(self, bare_cli, env):
        refused = [
            ["jobs", "list"],
            [
                "jobs",
                "create",
                "--name",
                "x",
                "--type",
                "command",
                "--program",
                '{"argv":["true"]}',
            ],
            ["tokens", "create", "--role", "admin", "--name", "alice"],
            ["tokens", "list"],
            ["projections", "rebuild"],
            ["keys", "rotate"],
            # The processes of a deployment refuse too, at once, rather than serve nothing.
            ["worker"],
            ["scheduler"],
            ["projections"],
            ["api", "--port", "1"],
        ]
        for command in refused:
            done = bare_cli(*command, expect=1)
            assert f"no JobLedger store at {self.store_name(env)}" in done.stderr, command
            assert "JOBLEDGER_DATABASE_URL" in done.stderr and "JOBLEDGER_DATA_DIR" in done.stderr
            assert "jobledger init" in done.stderr and "Traceback" not in done.stderr
        status = bare_cli("status", "--json", expect=1)
        assert json.loads(status.stdout)["state"].startswith("not initialised")
        assert "Created a JobLedger store" in bare_cli("init").stdout
        assert "exists already" in bare_cli("init").stdout
        ready = json.loads(bare_cli("status", "--json").stdout)
        assert (ready["state"], ready["jobs"], ready["tokens"]) == ("ready", 0, 0)
        assert ready["store"].startswith(self.store_name(env))
        assert bare_cli("jobs", "list", "--json").stdout.strip() == "[]"

    def test_status_and_help_say_which_store_is_in_use(self, cli, env):
        self.create(cli)
        cli("tokens", "create", "--role", "viewer", "--name", "v")
        cli("jobs", "list")  # brings the views, which status counts jobs from, up to date
        shown = cli("status").stdout
        assert f"store       {self.store_name(env)}" in shown
        assert "ready" in shown and "master_key" in shown
        report = json.loads(cli("status", "--json").stdout)
        assert (report["jobs"], report["tokens"]) == (1, 1) and report["events"] >= 2
        assert f"Store in use: {self.store_name(env)}\n" in cli("--help").stdout

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

    def test_tokens_made_and_revoked_here_are_on_the_audit_trail_by_this_user(self, cli, env):
        plain = cli("tokens", "create", "--role", "operator", "--name", "night-shift").stdout
        cli("tokens", "revoke", "night-shift")
        cli("tokens", "revoke", "night-shift", expect=1)  # none live: nothing recorded
        system = build(Settings.from_env(env), announce=lambda _message: None)
        try:
            system.catch_up()
            entries, _ = system.audit.entries(actions=["token.created", "token.revoked"])
        finally:
            system.close()
        user = getpass.getuser()
        assert [(e["action"], e["actor"], e["details"]["token_name"]) for e in entries] == [
            ("token.revoked", f"cli:{user}", "night-shift"),
            ("token.created", f"cli:{user}", "night-shift"),
        ]
        assert entries[0]["details"]["role"] == "operator"
        assert plain.strip() not in json.dumps(entries, default=str)

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

    def test_a_job_takes_a_parameters_schema_and_its_parameters_are_held_to_it(self, cli):
        schema = {"type": "object", "properties": {"size": {"type": "integer", "default": 5}}}
        done = cli(
            "jobs", "create", "--name", "typed", "--type", "command",
            "--program", '{"argv": ["true"]}', "--parameters", '{"size": "big"}',
            "--parameters-schema", json.dumps(schema), expect=2,
        )  # fmt: skip
        assert "parameters.size" in done.stderr
        created = cli(
            "jobs", "create", "--name", "typed", "--type", "command", "--json",
            "--program", '{"argv": ["true"]}', "--parameters-schema", json.dumps(schema),
        )  # fmt: skip
        assert json.loads(created.stdout)["parameters_schema"] == schema

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

    def store_name(self, env: dict[str, str]) -> str:
        return f"sqlite:///{env['JOBLEDGER_DATA_DIR']}/jobledger.sqlite3"

    def test_init_creates_a_private_master_key_and_says_so_once(self, bare_cli, tmp_path):
        first = bare_cli("init")
        assert "master key" in first.stderr
        key = tmp_path / "data" / "master.key"
        assert key.stat().st_mode & 0o777 == 0o600
        assert "master key" not in bare_cli("init").stderr + bare_cli("jobs", "list").stderr

    def test_a_refused_command_leaves_no_file_behind(self, bare_cli, tmp_path, elsewhere):
        bare_cli("tokens", "create", "--role", "admin", "--name", "alice", expect=1)
        bare_cli("jobs", "list", expect=1)
        bare_cli("status", expect=1)
        assert not (tmp_path / "data").exists() and list(elsewhere.iterdir()) == []

    def test_a_store_without_its_master_key_is_refused_not_given_a_new_key(self, cli, tmp_path):
        key = tmp_path / "data" / "master.key"
        key.unlink()
        done = cli("jobs", "list", expect=1)
        assert str(key) in done.stderr and "JOBLEDGER_MASTER_KEY" in done.stderr
        # Not even serve or init makes a new key for a store whose secrets are under another.
        for command in (["init"], ["serve", "--port", "1"]):
            assert str(key) in cli(*command, expect=1).stderr
        assert not key.exists()
        assert "(missing)" in cli("status", expect=1).stdout

    def test_status_never_shows_a_master_key_given_in_the_environment(self, env, elsewhere):
        key = base64.b64encode(os.urandom(32)).decode()
        with_key = {**env, "JOBLEDGER_MASTER_KEY": key}
        shown = {}
        for args in (["init"], ["status", "--json"], ["--help"]):
            done = subprocess.run(
                [*JOBLEDGER, *args], capture_output=True, text=True, env=with_key,
                cwd=elsewhere, timeout=60,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            assert key not in done.stdout + done.stderr
            shown[args[0]] = done.stdout
        report = json.loads(shown["status"])
        assert report["master_key"] == "JOBLEDGER_MASTER_KEY (the key itself)"
        assert report["state"] == "ready"

    def test_the_default_store_is_the_current_directorys_and_others_are_refused(
        self, tmp_path, elsewhere
    ):
        # The reported case: `serve` started in one directory, a token minted in another.
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBLEDGER_")}
        home = tmp_path / "home"
        home.mkdir()

        def run(cwd: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*JOBLEDGER, *args],
                capture_output=True,
                text=True,
                env={**env, **extra},
                cwd=cwd,
                timeout=60,
            )

        assert run(home, "init").returncode == 0
        store = home / "jobledger-data" / "jobledger.sqlite3"
        assert f"Store in use: sqlite:///{store}\n" in run(home, "--help").stdout
        refused = run(elsewhere, "tokens", "create", "--role", "admin", "--name", "alice")
        assert refused.returncode == 1
        assert str(elsewhere / "jobledger-data" / "jobledger.sqlite3") in refused.stderr
        assert "current directory" in refused.stderr and "JOBLEDGER_DATA_DIR" in refused.stderr
        assert list(elsewhere.iterdir()) == []
        pointed = run(
            elsewhere, "tokens", "create", "--role", "admin", "--name", "alice",
            JOBLEDGER_DATA_DIR=str(home / "jobledger-data"),
        )  # fmt: skip
        assert pointed.returncode == 0, pointed.stderr
        listed = run(home, "tokens", "list", "--json")
        assert [t["name"] for t in json.loads(listed.stdout)] == ["alice"]

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
        env["JOBLEDGER_DATABASE_URL"] = f"{with_password(url)}?schema={schema}"
        return env

    def store_name(self, env: dict[str, str]) -> str:
        store = parse_database_url(env["JOBLEDGER_DATABASE_URL"])
        where = f"{store.user}@{store.host}:{store.port}/{store.dbname}"
        return f"postgresql://{where} (schema {store.schema})"


def with_password(url: str) -> str:
    """The test database's URL with a password in it (the test server trusts local
    connections, so any password will do), to show that no output ever holds it."""
    parts = urlsplit(url)
    user = parts.username or "postgres"
    netloc = f"{user}:{PASSWORD}@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit(parts._replace(netloc=netloc))
