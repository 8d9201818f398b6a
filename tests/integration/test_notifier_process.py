"""`jobledger notifier` as a real process on the embedded store: it says it started, sends
the notification of a run failed by another process to a real webhook receiver, refuses bad
settings at start, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from interfaces.bootstrap import build
from interfaces.settings import Settings
from tests.receivers import webhook_receiver


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "JOBLEDGER_DATA_DIR": str(tmp_path / "data"), **extra}
    env.pop("JOBLEDGER_DATABASE_URL", None)
    env.pop("JOBLEDGER_MASTER_KEY", None)
    return env


def test_the_notifier_process_delivers_a_failure_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = _env(
        tmp_path,
        JOBLEDGER_NOTIFY_DEFAULT='[{"channel": "on-call", "on": ["failed"]}]',
        JOBLEDGER_BASE_URL="https://jobs.example/",
    )
    system = build(Settings.from_env(env), announce=lambda _message: None)
    try:
        with webhook_receiver() as receiver:
            system.app.create_channel(
                name="on-call", type="webhook", config={"url": receiver.url}, secrets=None,
                actor="test",
            )  # fmt: skip
            process = subprocess.Popen(
                [sys.executable, "-m", "interfaces.cli.main", "notifier"],
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
                assert lines.get(timeout=30).startswith("JobLedger notifier started on sqlite")
                job = system.app.register_job(
                    name="no rules of its own", job_type="command",
                    program={"argv": ["false"]}, actor="test",
                )  # fmt: skip
                run = system.app.request_run(job.id, actor="test")
                system.app.start_run(run.id, worker="w")
                system.app.fail_run(run.id, exit_code=1, error="failed")
                # Another process's save: the notifier finds it at its next poll (SQLite has
                # no NOTIFY), within its idle interval.
                [request] = receiver.wait_for(1, timeout=30)
                payload = json.loads(request.body)
                assert payload["run_id"] == str(run.id) and payload["event"] == "failed"
                assert payload["run_url"] == f"https://jobs.example/runs/{run.id}"
            finally:
                process.send_signal(signal.SIGTERM)
                _, stderr = process.communicate(timeout=30)
            assert process.returncode == 0, stderr
    finally:
        system.close()


def test_bad_notification_settings_are_refused_at_start(tmp_path: Path) -> None:
    env = _env(tmp_path, JOBLEDGER_NOTIFY_DEFAULT='[{"channel": "x", "on": ["sometimes"]}]')
    done = subprocess.run(
        [sys.executable, "-m", "interfaces.cli.main", "notifier"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "JOBLEDGER_NOTIFY_DEFAULT.0.on.0" in done.stderr


def test_the_notifier_process_refuses_a_store_that_does_not_exist(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "interfaces.cli.main", "notifier"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert not (tmp_path / "data" / "jobledger.sqlite3").exists()


def test_the_notifier_process_serves_its_metrics_and_health(tmp_path: Path) -> None:
    env = _env(tmp_path, JOBLEDGER_NOTIFY_DEFAULT='[{"channel": "on-call", "on": ["failed"]}]')
    system = build(Settings.from_env(env), announce=lambda _message: None)
    tokens = system.backend.token_store()
    try:
        _principal, token = system.app.create_token(tokens, "scraper", "viewer", actor="test")
        with webhook_receiver() as receiver:
            system.app.create_channel(
                name="on-call", type="webhook", config={"url": receiver.url}, secrets=None,
                actor="test",
            )  # fmt: skip
            process = subprocess.Popen(
                [sys.executable, "-m", "interfaces.cli.main", "notifier", "--metrics-port", "0"],
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
                assert lines.get(timeout=30).startswith("JobLedger notifier started")
                announced = lines.get(timeout=30)
                assert announced.startswith("Metrics on http://127.0.0.1:"), announced
                base = announced.split(" ", 2)[2].strip().removesuffix("/metrics")
                job = system.app.register_job(
                    name="fails", job_type="command", program={"argv": ["false"]}, actor="test"
                )
                run = system.app.request_run(job.id, actor="test")
                system.app.start_run(run.id, worker="w")
                system.app.fail_run(run.id, exit_code=1, error="failed")
                receiver.wait_for(1, timeout=30)

                with urllib.request.urlopen(f"{base}/healthz", timeout=10) as answer:
                    health = json.loads(answer.read())
                assert health["status"] == "ok"
                assert "notifier" in [loop["name"] for loop in health["loops"]]
                with pytest.raises(urllib.error.HTTPError) as refused:
                    urllib.request.urlopen(f"{base}/metrics", timeout=10)
                assert refused.value.code == 401  # a viewer's token, as the API's /metrics
                refused.value.close()
                text = scrape(base, token, 'outcome="delivered"} 1')
                assert 'jobledger_notification_attempts_total{outcome="delivered"} 1' in text
                assert "jobledger_notification_deliveries_pending 0" in text
                assert 'jobledger_loop_healthy{loop="notifier"} 1' in text
                assert "jobledger_notification_last_delivery_latency_seconds" in text
            finally:
                process.send_signal(signal.SIGTERM)
                _, stderr = process.communicate(timeout=30)
            assert process.returncode == 0, stderr
    finally:
        tokens.close()
        system.close()


def scrape(base: str, token: str, awaited: str, timeout: float = 30) -> str:
    """/metrics, read again until it shows `awaited` (the counter follows the attempt's
    record, a moment after the receiver has the message) or `timeout` passes."""
    request = urllib.request.Request(
        f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(request, timeout=10) as answer:
            text = answer.read().decode()
        if awaited in text or time.monotonic() > deadline:
            return text
        time.sleep(0.1)
