"""`jobledger tokens` and `jobledger api` as a user runs them: real processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import init_store

JOBLEDGER = [sys.executable, "-m", "interfaces.cli.main"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ApiCommandLineContract:
    @pytest.fixture
    def env(self, tmp_path: Path) -> dict[str, str]:
        raise NotImplementedError

    def run(self, env: dict[str, str], *args: str, expect: int = 0) -> str:
        done = subprocess.run(
            [*JOBLEDGER, *args], capture_output=True, text=True, env=env, timeout=60
        )
        assert done.returncode == expect, (done.stdout, done.stderr)
        return done.stdout

    def test_tokens_are_created_once_listed_without_values_and_revoked(self, env):
        token = self.run(env, "tokens", "create", "--role", "operator", "--name", "ci-bot")
        assert token.count("\n") == 1 and token.startswith("jl_")
        token = token.strip()
        listed = json.loads(self.run(env, "tokens", "list", "--json"))
        assert [(t["name"], t["role"], t["revoked"]) for t in listed] == [
            ("ci-bot", "operator", False)
        ]
        assert token not in json.dumps(listed)
        table = self.run(env, "tokens", "list")
        assert "ci-bot" in table and token not in table
        self.run(env, "tokens", "create", "--role", "root", "--name", "x", expect=2)
        self.run(env, "tokens", "create", "--role", "viewer", "--name", "ci-bot", expect=1)
        assert self.run(env, "tokens", "revoke", "ci-bot").startswith("Revoked")
        self.run(env, "tokens", "revoke", "ci-bot", expect=1)
        assert json.loads(self.run(env, "tokens", "list", "--json"))[0]["revoked"] is True

    def test_api_serves_with_a_first_admin_token_announced_once(self, env):
        port = free_port()
        process = subprocess.Popen(
            [*JOBLEDGER, "api", "--host", "127.0.0.1", "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline() for _ in range(2)]
            assert "administrator token" in lines[0]
            token = lines[1].strip()
            assert token.startswith("jl_") and lines[1] == token + "\n"
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    health = httpx.get(f"{base}/healthz", timeout=2)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the API did not start"
                    assert process.poll() is None, process.stderr.read()  # type: ignore[union-attr]
                    time.sleep(0.1)
            shown = health.json()
            assert (shown["status"], shown["store"], shown["problems"]) == ("ok", "reachable", [])
            headers = {"Authorization": f"Bearer {token}"}
            assert httpx.get(f"{base}/api/jobs", headers=headers).json()["items"] == []
            assert httpx.get(f"{base}/api/jobs").status_code == 401
        finally:
            process.terminate()
            _out, errors = process.communicate(timeout=20)
        assert token not in errors
        listed = json.loads(self.run(env, "tokens", "list", "--json"))
        assert [(t["name"], t["role"]) for t in listed] == [("admin", "admin")]
        assert listed[0]["last_used_at"] is not None


class TestApiCommandLineOnSQLite(ApiCommandLineContract):
    @pytest.fixture
    def env(self, tmp_path: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBLEDGER_")}
        env["JOBLEDGER_DATA_DIR"] = str(tmp_path / "data")
        init_store(env)  # only `init` and `serve` create a store
        return env


@pytest.mark.postgres
class TestApiCommandLineOnPostgres(ApiCommandLineContract):
    @pytest.fixture
    def env(self, tmp_path: Path, pg_schema) -> dict[str, str]:
        url, schema = pg_schema
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBLEDGER_")}
        env["JOBLEDGER_DATA_DIR"] = str(tmp_path / "data")
        env["JOBLEDGER_DATABASE_URL"] = f"{url}?schema={schema}"
        init_store(env)  # only `init` and `serve` create a store
        return env
