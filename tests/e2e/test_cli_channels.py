"""`jobledger channels` as a user runs it: real processes on a real store (SQLite, and a
fresh PostgreSQL schema). Secrets come from the environment or standard input, never argv,
and never come back out: not in output, not in the audit trail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from interfaces.bootstrap import build
from interfaces.settings import Settings
from tests.e2e.test_cli import with_password

SIGNING = "sig-3f9a-never-shown"
AUTHORIZATION = "Bearer auth-81c0-never-shown"
JOBLEDGER = [sys.executable, "-m", "interfaces.cli.main"]
HOOK = json.dumps({"url": "https://hooks.example.com/jl"})


class ChannelsCommandLine:
    @pytest.fixture
    def env(self, tmp_path: Path) -> dict[str, str]:
        raise NotImplementedError

    @pytest.fixture
    def cli(self, env, tmp_path: Path):
        def run(*args: str, stdin: str | None = None, expect: int = 0, **extra: str):
            done = subprocess.run(
                [*JOBLEDGER, *args],
                input=stdin,
                capture_output=True,
                text=True,
                env={**env, **extra},
                cwd=tmp_path,
                timeout=60,
            )
            assert done.returncode == expect, (done.stdout, done.stderr)
            assert SIGNING not in done.stdout + done.stderr
            assert AUTHORIZATION not in done.stdout + done.stderr
            return done

        return run

    def create(self, cli, name: str = "on-call") -> str:
        done = cli(
            "channels", "create", "--name", name, "--type", "webhook", "--config", HOOK,
            "--secret-from-env", "signing_secret=HOOK_SIGNING",
            "--secret-from-stdin", "authorization",
            stdin=AUTHORIZATION + "\n", HOOK_SIGNING=SIGNING,
        )  # fmt: skip
        return done.stdout.strip()

    def test_the_store_must_exist(self, cli):
        done = cli("channels", "list", expect=1)
        assert "init" in done.stderr or "no store" in done.stderr.lower(), done.stderr

    def test_channels_are_created_listed_shown_tested_and_deleted(self, cli, env):
        cli("init")
        channel_id = self.create(cli)
        listed = json.loads(cli("channels", "list", "--json").stdout)
        assert [(c["id"], c["name"], c["type"]) for c in listed] == [
            (channel_id, "on-call", "webhook")
        ]
        assert listed[0]["secrets"] == ["authorization", "signing_secret"]
        assert "on-call" in cli("channels", "list").stdout
        shown = json.loads(cli("channels", "show", channel_id).stdout)
        assert shown["config"] == json.loads(HOOK)
        assert shown["created_by"].startswith("cli:")
        assert "queued as delivery" in cli("channels", "test", channel_id).stdout
        cli("channels", "delete", channel_id)
        assert "not found" in cli("channels", "show", channel_id, expect=1).stderr
        assert json.loads(cli("channels", "list", "--json").stdout) == []
        # On the audit trail, by this user, secrets by name only.
        system = build(Settings.from_env(env))
        try:
            system.catch_up()
            entries, _ = system.audit.entries(
                actions=["channel.created", "channel.tested", "channel.deleted"]
            )
        finally:
            system.close()
        assert [e["action"] for e in entries] == [
            "channel.deleted",
            "channel.tested",
            "channel.created",
        ]
        assert {e["actor"] for e in entries} == {shown["created_by"]}
        assert {e["details"]["channel_name"] for e in entries} == {"on-call"}
        assert SIGNING not in json.dumps(entries, default=str)

    def test_bad_input_exits_2_naming_every_field_and_writes_nothing(self, cli):
        cli("init")
        done = cli(
            "channels", "create", "--name", "", "--type", "webhook",
            "--config", '{"url": "ftp://x"}',
            "--secret-from-env", "password=UNSET_VARIABLE_FOR_TEST",
            expect=2,
        )  # fmt: skip
        for field in ("invalid name", "invalid secrets.password", "config.url"):
            assert field in done.stderr, done.stderr
        done = cli("channels", "create", "--name", "x", "--type", "pager", expect=2)
        assert "invalid type" in done.stderr
        done = cli(
            "channels", "create", "--name", "x", "--type", "slack", "--config", "{", expect=2
        )
        assert "invalid config" in done.stderr
        assert "not a channel id" in cli("channels", "show", "nope", expect=2).stderr
        assert json.loads(cli("channels", "list", "--json").stdout) == []

    def test_a_taken_name_exits_1(self, cli):
        cli("init")
        self.create(cli)
        done = cli(
            "channels", "create", "--name", " ON-CALL", "--type", "webhook", "--config", HOOK,
            expect=1,
        )  # fmt: skip
        assert "already exists" in done.stderr
        assert "usage: jobledger channels" in cli("channels", "create", "--help").stdout


class TestChannelsOnSQLite(ChannelsCommandLine):
    @pytest.fixture
    def env(self, tmp_path: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBLEDGER_")}
        env["JOBLEDGER_DATA_DIR"] = str(tmp_path / "data")
        return env


@pytest.mark.postgres
class TestChannelsOnPostgres(ChannelsCommandLine):
    @pytest.fixture
    def env(self, tmp_path: Path, pg_schema) -> dict[str, str]:
        url, schema = pg_schema
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBLEDGER_")}
        env["JOBLEDGER_DATA_DIR"] = str(tmp_path / "data")
        env["JOBLEDGER_DATABASE_URL"] = f"{with_password(url)}?schema={schema}"
        return env
