"""`jobledger serve` killed with SIGKILL while a job runs: the job's processes die with it,
and a daemon the job started with `setsid` too. Nothing a run started outlives its worker."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

from tests.e2e.processes import processes, served
from tests.e2e.test_api_cli import free_port
from tests.process_marks import host_pid, sh_mark


def test_sigkill_of_serve_takes_its_running_jobs_processes_and_their_daemons_with_it(
    tmp_path: Path, job_dir: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBLEDGER_")}
    env["JOBLEDGER_DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONUNBUFFERED"] = "1"
    port = free_port()
    marks = job_dir / "marks"
    # The job records its own mark and a setsid daemon's, then waits for ever.
    script = (
        f"echo {sh_mark()} >> {marks}; "
        f"setsid sh -c 'echo {sh_mark()} >> {marks}; exec sleep 600' & "
        "exec sleep 600"
    )
    with processes(env, tmp_path) as start, served(start, port) as (serve, client):
        deadline = time.monotonic() + 30
        job = client.post(
            "/api/jobs",
            json={
                "name": f"forever {uuid.uuid4().hex[:6]}",
                "job_type": "command",
                "program": {"argv": ["sh", "-c", script]},
            },
        )
        assert job.status_code == 201, job.text
        assert client.post(f"/api/jobs/{job.json()['id']}/runs", json={}).status_code == 202
        while not (marks.exists() and len(marks.read_text().splitlines()) == 2):
            assert time.monotonic() < deadline, serve.tail()
            time.sleep(0.05)
        pids = [host_pid(mark) for mark in marks.read_text().splitlines()]
        assert all(pid is not None for pid in pids), pids

        serve.signal(signal.SIGKILL)
        assert serve.wait_exit(5) == -signal.SIGKILL
        killed_at = time.monotonic()
        while any(host_pid(mark) is not None for mark in marks.read_text().splitlines()):
            assert time.monotonic() - killed_at < 5, "a job process outlived serve by 5 s"
            time.sleep(0.05)
