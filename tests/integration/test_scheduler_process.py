"""`jobledger scheduler` as a real process on the embedded store: it says it started, fires
a job registered by another process, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from eventsourcing.utils import get_topic

from domain.run import Run
from interfaces.bootstrap import build
from interfaces.settings import Settings


def test_the_scheduler_process_fires_jobs_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "JOBLEDGER_DATA_DIR": str(tmp_path / "data")}
    env.pop("JOBLEDGER_DATABASE_URL", None)
    env.pop("JOBLEDGER_MASTER_KEY", None)
    system = build(Settings.from_env(env), announce=lambda _message: None)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "interfaces.cli.main", "scheduler"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()

        def read_lines() -> None:
            for line in process.stdout or ():
                lines.put(line)

        threading.Thread(target=read_lines, daemon=True).start()
        try:
            first = lines.get(timeout=30)
            assert first.startswith("JobLedger scheduler started on sqlite:///")
            job = system.app.register_job(
                name="every second",
                job_type="command",
                program={"argv": ["true"]},
                actor="test",
                schedule={"cron": "* * * * * *"},
                policies={"overlap": "allow"},
            )
            topics = [get_topic(Run.Requested)]
            deadline = time.monotonic() + 30
            while True:
                found = system.app.recorder.select_notifications(1, 100, topics=topics)
                runs: list[Any] = [system.app.mapper.to_domain_event(n) for n in found]
                if len(runs) >= 2:
                    break
                assert time.monotonic() < deadline, "the scheduler process fired nothing"
                time.sleep(0.1)
            assert {r.job_id for r in runs} == {job.id}
            assert all(r.trigger == "schedule" and r.requested_by == "scheduler" for r in runs)
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr
    finally:
        system.close()
