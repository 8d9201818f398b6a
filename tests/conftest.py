"""Shared test set-up: PostgreSQL from JOBLEDGER_TEST_DATABASE_URL, one schema per test.

With JOBLEDGER_REQUIRE_POSTGRES=1 (as CI sets it) a skipped PostgreSQL test fails the run,
so the PostgreSQL half of the contract can never go quietly missing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

TEST_DATABASE_URL = os.environ.get("JOBLEDGER_TEST_DATABASE_URL", "")
_skipped_postgres: list[str] = []
_ran_postgres: list[str] = []


@pytest.fixture
def pg_schema() -> Iterator[tuple[str, str]]:
    """A fresh schema in the test database: (database URL, schema name); dropped afterwards."""
    if not TEST_DATABASE_URL:
        pytest.skip("JOBLEDGER_TEST_DATABASE_URL is not set: no PostgreSQL server to test on")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield TEST_DATABASE_URL, schema
    finally:
        with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def job_dir() -> Iterator[Path]:
    """A directory a job can write to: jobs run as an unprivileged user (see the README), who
    can reach neither pytest's tmp_path (under a 0700 directory) nor write to it."""
    path = Path(tempfile.mkdtemp(prefix="jobledger-test-"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "postgres" not in report.keywords:
        return
    if report.skipped:
        _skipped_postgres.append(report.nodeid)
    elif report.when == "call":
        _ran_postgres.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("JOBLEDGER_REQUIRE_POSTGRES") != "1":
        return
    if _skipped_postgres or not _ran_postgres:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = (
            f"{len(_skipped_postgres)} PostgreSQL tests were skipped and "
            f"{len(_ran_postgres)} ran; JOBLEDGER_REQUIRE_POSTGRES=1 requires them all to run"
        )
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = 1
