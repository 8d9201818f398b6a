"""Names a store already holds are printed with their control characters escaped.

The domain refuses such names now, but a store written before it did may hold one: the
command line must not let it ring the bell, recolour the terminal or forge a line.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest

from adapters.token_store import TABLE_NAME
from domain.job import Job
from interfaces.bootstrap import build
from interfaces.settings import Settings
from tests.e2e.processes import init_store

JOBLEDGER = [sys.executable, "-m", "interfaces.cli.main"]
HOSTILE = "evil\x1b[2J\x07\r\nFORGED LINE\x9b31m\u202eend"
ESCAPED = "evil\\x1b[2J\\x07\\r\\nFORGED LINE\\x9b31m\\u202eend"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBLEDGER_")}
    env["JOBLEDGER_DATA_DIR"] = str(tmp_path / "data")
    init_store(env)  # only `init` and `serve` create a store
    return env


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [*JOBLEDGER, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _rename_behind_the_domains_back(env: dict[str, str], job_id: str) -> None:
    system = build(Settings.from_env(env), announce=lambda _m: None)
    try:
        job = system.app.repository.get(UUID(job_id))
        job.trigger_event(Job.Renamed, name=HOSTILE, previous=job.name, actor="old-version")
        system.app.save(job)
    finally:
        system.close()


def test_jobs_list_and_show_escape_control_characters_in_stored_names(env):
    job_id = cli(
        env, "jobs", "create", "--name", "plain", "--type", "command",
        "--program", '{"argv": ["true"]}', "--description", "two\nlines",
    ).strip()  # fmt: skip
    _rename_behind_the_domains_back(env, job_id)
    for output in (cli(env, "jobs", "list"), cli(env, "jobs", "show", job_id)):
        assert ESCAPED in output
        assert not any(c in output for c in "\x1b\x07\r\x9b\u202e")
        assert "\nFORGED LINE" not in output
    assert "two\\nlines" in cli(env, "jobs", "show", job_id)
    # JSON keeps the value exact, with every control character escaped.
    listed = cli(env, "jobs", "list", "--json")
    assert not any(c in listed for c in "\x1b\x07\r\x9b\u202e")
    assert json.loads(listed)[0]["name"] == HOSTILE


def test_tokens_list_escapes_control_characters_in_stored_names(env, tmp_path):
    cli(env, "tokens", "create", "--name", "ci", "--role", "viewer")
    with sqlite3.connect(tmp_path / "data" / "jobledger.sqlite3") as db:
        db.execute(f"UPDATE {TABLE_NAME} SET name = ?", (HOSTILE,))
    output = cli(env, "tokens", "list")
    assert ESCAPED in output
    assert not any(c in output for c in "\x1b\x07\r\x9b\u202e")
