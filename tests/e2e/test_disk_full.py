"""`jobledger serve` on the embedded default when its disk fills up, and after space is freed.

The data directory is a small tmpfs of the test's own. While it is full, writes are refused
with 507 (or 503), never a bare 500 or a reset connection, and /healthz says what is wrong;
once space is freed, writes are accepted and readable without a restart, and every write
that was acknowledged is there.
"""

from __future__ import annotations

import errno
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import processes, served
from tests.e2e.test_api_cli import free_port

DISK_MB = 24


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.fail("mounting a small tmpfs for the disk-full test needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m,mode=0755", "tmpfs", str(mount)],
        check=True,
    )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Write until the disk refuses another byte; returns the filler to delete later."""
    filler = disk / "filler"
    chunk = b"\0" * (1 << 20)
    with filler.open("wb", buffering=0) as out:
        for size in (len(chunk), 4096, 1):
            try:
                while True:
                    out.write(chunk[:size])
            except OSError as error:
                assert error.errno == errno.ENOSPC, error
    return filler


def test_a_full_disk_refuses_writes_truthfully_and_a_freed_one_takes_them_without_restart(
    small_disk: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBLEDGER_")}
    env["JOBLEDGER_DATA_DIR"] = str(small_disk / "data")
    env["PYTHONUNBUFFERED"] = "1"
    port = free_port()
    with processes(env, tmp_path) as start, served(start, port) as (serve, client):

        def create(name: str) -> httpx.Response:
            return client.post(
                "/api/jobs",
                json={
                    "name": name,
                    "job_type": "command",
                    "program": {"argv": ["true"]},
                    "description": "x" * 4000,
                },
            )

        first = create("before the disk filled")
        assert first.status_code == 201, first.text
        job_id = first.json()["id"]

        filler = fill(small_disk)
        acknowledged, statuses = [job_id], []
        for i in range(60):
            response = create(f"while full {i}")  # never a reset: httpx would raise
            statuses.append(response.status_code)
            if response.status_code == 201:
                acknowledged.append(response.json()["id"])
            else:
                assert response.status_code in (503, 507), response.text
                assert response.json().get("detail"), response.text
            if response.status_code == 507:
                break
        assert 507 in statuses, statuses
        run = client.post(f"/api/jobs/{job_id}/runs", json={})
        assert run.status_code in (202, 503, 507), run.text
        health = client.get("/healthz")
        assert health.status_code == 503 and "disk" in health.text, health.text

        filler.unlink()
        began = time.monotonic()
        while True:
            response = create("after space was freed")
            if response.status_code == 201:
                acknowledged.append(response.json()["id"])
                break
            assert time.monotonic() - began < 10, response.text
            time.sleep(0.2)
        for ident in acknowledged:
            while client.get(f"/api/jobs/{ident}").status_code != 200:
                assert time.monotonic() - began < 10, f"job {ident} was acknowledged but is lost"
                time.sleep(0.1)
        while client.get("/healthz").status_code != 200:
            assert time.monotonic() - began < 15, client.get("/healthz").text
            time.sleep(0.2)
        assert serve.alive(), serve.tail()
        assert serve.errors().count("Traceback") <= 2, serve.tail(60)
