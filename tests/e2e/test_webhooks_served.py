"""Webhook triggers with real processes: a real `jobledger serve` receives a real HTTP call
to a trigger and runs the job with the call's override; `jobledger triggers` makes, lists
and revokes triggers on SQLite and PostgreSQL."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from interfaces.bootstrap import build
from interfaces.settings import Settings
from tests.e2e.processes import JOBLEDGER, init_store, processes, served
from tests.e2e.test_api_cli import free_port
from tests.e2e.test_cli import with_password

PRINT_BATCH = "import json, sys; print('batch is', json.load(sys.stdin)['batch'])"


def sqlite_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBLEDGER_")}
    env["JOBLEDGER_DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def wait_for_run(client: httpx.Client, run_id: str, seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["status"] not in ("queued", "running"):
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.2)


def test_a_webhook_call_to_serve_runs_the_job_with_its_override(tmp_path: Path) -> None:
    served_webhook_run(sqlite_env(tmp_path), tmp_path)


@pytest.mark.postgres
def test_a_webhook_call_to_serve_on_postgres_runs_the_job(tmp_path: Path, pg_schema) -> None:
    url, schema = pg_schema
    env = sqlite_env(tmp_path)
    env["JOBLEDGER_DATABASE_URL"] = f"{with_password(url)}?schema={schema}"
    served_webhook_run(env, tmp_path)


def served_webhook_run(env: dict[str, str], tmp_path: Path) -> None:
    with (
        processes(env, tmp_path) as start,
        served(start, free_port()) as (
            serve,
            client,
        ),
    ):
        job = client.post(
            "/api/jobs",
            json={
                "name": "Ticket sync",
                "job_type": "command",
                "program": {"argv": ["python3", "-c", PRINT_BATCH]},
                "parameters": {"batch": 1},
                "overridable_parameters": ["batch"],
            },
        )
        assert job.status_code == 201, job.text
        trigger = client.post(f"/api/jobs/{job.json()['id']}/triggers", json={"name": "tickets"})
        assert trigger.status_code == 201, trigger.text
        url, token = trigger.json()["url"], trigger.json()["token"]

        with httpx.Client(timeout=15) as outsider:  # no API token: only the trigger's
            called = outsider.post(
                url, json={"batch": 42}, headers={"Authorization": f"Bearer {token}"}
            )
        assert called.status_code == 202, called.text
        run = wait_for_run(client, called.json()["run_id"])
        assert run["status"] == "succeeded", (run, serve.tail())
        assert run["trigger"] == "webhook:tickets" and run["parameters"]["batch"] == 42
        logs = client.get(f"/api/runs/{run['id']}/logs").json()["items"]
        assert any("batch is 42" in entry["message"] for entry in logs), logs
        assert token not in serve.output() + serve.errors()


class TriggersCommandContract:
    @pytest.fixture
    def env(self, tmp_path: Path) -> dict[str, str]:
        raise NotImplementedError

    def run(
        self, env: dict[str, str], *args: str, expect: int = 0
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(JOBLEDGER), *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == expect, (done.stdout, done.stderr)
        return done

    def test_triggers_are_created_listed_and_revoked_from_the_command_line(self, env):
        init_store(env)
        job_id = self.run(
            env, "jobs", "create", "--name", "Ticket sync", "--type", "command",
            "--program", '{"argv": ["true"]}',
        ).stdout.strip()  # fmt: skip
        created = self.run(
            env, "triggers", "create", job_id, "--name", "tickets",
            "--base-url", "https://jobs.example.com/",
        )  # fmt: skip
        token = created.stdout.strip()
        assert token.startswith("jlh_") and "\n" not in token
        listed = json.loads(self.run(env, "triggers", "list", job_id, "--json").stdout)
        assert [t["name"] for t in listed] == ["tickets"]
        trigger_id = listed[0]["id"]
        assert f"URL: https://jobs.example.com/hooks/{trigger_id}" in created.stderr
        assert token not in json.dumps(listed)
        table = self.run(env, "triggers", "list", job_id).stdout
        assert "tickets" in table and token not in table
        taken = self.run(env, "triggers", "create", job_id, "--name", "tickets", expect=1)
        assert "already has a trigger named 'tickets'" in taken.stderr
        bad = self.run(env, "triggers", "create", job_id, "--name", "no/slash", expect=2)
        assert "invalid name" in bad.stderr
        self.run(env, "triggers", "revoke", job_id, trigger_id)
        assert json.loads(self.run(env, "triggers", "list", job_id, "--json").stdout) == []
        self.run(env, "triggers", "revoke", job_id, trigger_id, expect=1)

        system = build(Settings.from_env(env), announce=lambda _message: None)
        try:
            system.catch_up()
            entries, _ = system.audit.entries(actions=["trigger.created", "trigger.revoked"])
        finally:
            system.close()
        user = getpass.getuser()
        assert [(e["action"], e["actor"]) for e in entries] == [
            ("trigger.revoked", f"cli:{user}"),
            ("trigger.created", f"cli:{user}"),
        ]
        assert token not in json.dumps(entries, default=str)


class TestTriggersCommandOnSQLite(TriggersCommandContract):
    @pytest.fixture
    def env(self, tmp_path: Path) -> dict[str, str]:
        return sqlite_env(tmp_path)


@pytest.mark.postgres
class TestTriggersCommandOnPostgres(TriggersCommandContract):
    @pytest.fixture
    def env(self, tmp_path: Path, pg_schema) -> dict[str, str]:
        url, schema = pg_schema
        env = sqlite_env(tmp_path)
        env["JOBLEDGER_DATABASE_URL"] = f"{with_password(url)}?schema={schema}"
        return env
