"""The embedded store is owner-only: data directory 0700, SQLite files 0600, any umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.event_store_config import StoreSettings
from interfaces.bootstrap import build, build_token_store
from interfaces.settings import Settings

DB = "jobledger.sqlite3"


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o000)
    try:
        yield
    finally:
        os.umask(previous)


def settings_in(data: Path) -> Settings:
    store = StoreSettings(kind="sqlite", sqlite_path=data / DB)
    return Settings(store=store, data_dir=data, master_key=None)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def store_files(data: Path) -> dict[str, int]:
    return {p.name: mode(p) for p in data.iterdir() if p.name.startswith(DB)}


def test_a_new_store_is_created_owner_only_whatever_the_umask(tmp_path, permissive_umask):
    data = tmp_path / "data"
    system = build(settings_in(data), announce=lambda _m: None)
    try:
        system.app.register_job(name="x", job_type="command", program={"argv": ["true"]}, actor="t")
        assert mode(data) == 0o700
        files = store_files(data)
        assert {DB, DB + "-wal", DB + "-shm"} <= set(files)
        assert set(files.values()) == {0o600}, files
    finally:
        system.close()


def test_the_token_store_alone_creates_the_database_owner_only(tmp_path, permissive_umask):
    # `jobledger tokens create` may be the first command run on a new store.
    data = tmp_path / "data"
    tokens = build_token_store(settings_in(data))
    try:
        tokens.create("ci", "viewer")
        files = store_files(data)
        assert DB in files and set(files.values()) == {0o600}, files
    finally:
        tokens.close()


def test_an_existing_stores_modes_are_put_right_at_start(tmp_path):
    data = tmp_path / "data"
    build(settings_in(data), announce=lambda _m: None).close()
    data.chmod(0o755)
    for name in (DB, DB + "-wal", DB + "-shm"):
        (data / name).touch()
        (data / name).chmod(0o644)
    system = build(settings_in(data), announce=lambda _m: None)
    try:
        assert mode(data) == 0o700
        assert set(store_files(data).values()) == {0o600}
    finally:
        system.close()


def test_setting_modes_never_drops_the_locks_of_open_connections(tmp_path):
    # Closing any descriptor of a file drops this process's POSIX locks on it, SQLite's
    # too: another process would then think itself the last connection and remove the WAL
    # under ours. So the modes are set without opening an existing database.
    data = tmp_path / "data"
    system = build(settings_in(data), announce=lambda _m: None)
    try:
        system.app.register_job(name="x", job_type="command", program={"argv": ["true"]}, actor="t")
        build_token_store(settings_in(data)).close()  # a second set-up in this process
        other = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("
        other += "'SELECT count(*) FROM sqlite_master').fetchone(); c.close()"
        subprocess.run([sys.executable, "-c", other, str(data / DB)], check=True, timeout=60)
        assert (data / (DB + "-wal")).exists()
    finally:
        system.close()
