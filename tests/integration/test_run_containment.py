"""No process outlives its run or its worker: daemons (setsid) and double-forks included.

Real processes in a real sandbox (bwrap, a PID namespace per run). Where bwrap cannot run these
tests are skipped, except on CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from adapters.executors.command import CommandExecutor
from adapters.executors.process import ProcessRunner
from adapters.executors.sandbox import SandboxPolicy
from jobtypes import Outcome, StopSignal
from tests.integration.test_executors import Log, execution
from tests.process_marks import await_gone, host_pid

ROOT = Path(__file__).resolve().parents[2]
# A job that leaves a setsid daemon and a double-forked grandchild behind, writes their marks
# (namespace and pid), says "started", then exits at once or waits to be stopped.
LEAVES_DAEMONS = textwrap.dedent("""
    import os, subprocess, sys, time
    folder, then = sys.argv[1], sys.argv[2]
    namespace = os.readlink("/proc/self/ns/pid")
    quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    daemon = subprocess.Popen(["sleep", "300"], start_new_session=True, **quiet)
    read, write = os.pipe()
    if os.fork() == 0:
        os.setsid()
        grandchild = os.fork()
        if grandchild == 0:
            os.execvp("sleep", ["sleep", "300"])
        os.write(write, str(grandchild).encode())
        os._exit(0)
    os.close(write)
    grandchild = int(os.read(read, 32))
    os.wait()
    for name, pid in (("main", os.getpid()), ("setsid", daemon.pid), ("double-fork", grandchild)):
        with open(f"{folder}/{name}.tmp", "w") as mark:
            mark.write(f"{namespace} {pid}")
        os.rename(f"{folder}/{name}.tmp", f"{folder}/{name}")
    print("started", flush=True)
    if then == "wait":
        time.sleep(300)
""")


@pytest.fixture(autouse=True)
def sandbox_required() -> None:
    """Containment needs bwrap; CI must have it (a skip there would hide a regression)."""
    policy = SandboxPolicy.from_environment()
    if policy.sandboxed:
        return
    message = "bwrap (bubblewrap) or PID namespaces are unusable here: no containment to test"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def marks(folder: Path) -> list[str]:
    return [(folder / name).read_text() for name in ("main", "setsid", "double-fork")]


def start(job_dir: Path, then: str, stop: StopSignal, log: Log) -> tuple[threading.Thread, list]:
    result: list[Outcome] = []
    argv = [sys.executable, "-c", LEAVES_DAEMONS, str(job_dir), then]
    executor = CommandExecutor(ProcessRunner(grace_seconds=1.0))

    def run() -> None:
        result.append(executor.execute(execution({"argv": argv}), log, stop))

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_a_runs_daemons_and_double_forks_are_gone_when_it_succeeds(job_dir: Path) -> None:
    log = Log()
    thread, result = start(job_dir, "exit", StopSignal(), log)
    thread.join(30)
    assert result == [Outcome(0)] and log.messages() == ["started"]
    for mark in marks(job_dir):
        assert await_gone(mark, timeout=5.0), f"{mark} outlived its run"


@pytest.mark.parametrize("reason", ["timeout", "cancel"])
def test_a_runs_daemons_and_double_forks_are_gone_when_it_is_stopped(
    job_dir: Path, reason: str
) -> None:
    log, stop = Log(), StopSignal()
    thread, result = start(job_dir, "wait", stop, log)
    log.wait_for("started")
    left = marks(job_dir)
    assert all(host_pid(mark) is not None for mark in left)  # running, and found
    stop.stop(reason)
    thread.join(30)
    assert result[0].exit_code == -signal.SIGTERM
    assert (result[0].error or "").startswith(f"stopped ({reason}): killed by SIGTERM")
    for mark in left:
        assert await_gone(mark, timeout=5.0), f"{mark} outlived its run"


def test_sigterm_reaches_the_program_not_only_the_sandboxs_init() -> None:
    """The program is not PID 1 of its namespace, so SIGTERM is not ignored: its trap runs."""
    log, stop = Log(), StopSignal()
    script = "trap 'echo cleaning up; exit 7' TERM; echo started; sleep 60 & wait"
    result: list[Outcome] = []
    runner = CommandExecutor(ProcessRunner(grace_seconds=5.0))
    thread = threading.Thread(
        target=lambda: result.append(
            runner.execute(execution({"argv": ["sh", "-c", script]}), log, stop)
        )
    )
    thread.start()
    log.wait_for("started")
    stop.stop("cancel")
    thread.join(10)
    assert result[0].exit_code == 7 and "cleaning up" in log.messages()


WORKER = textwrap.dedent("""
    import sys, threading
    from adapters.executors.command import CommandExecutor
    from jobtypes import StopSignal
    from tests.integration.test_executors import Log, execution
    argv = sys.argv[1:]
    log = Log()
    # As in the worker, the run executes on a thread of its own.
    run = threading.Thread(
        target=lambda: CommandExecutor().execute(execution({"argv": argv}), log, StopSignal())
    )
    run.start()
    log.wait_for("started", timeout=60)
    print("running", flush=True)
    run.join()
""")


def test_a_sigkilled_worker_takes_its_jobs_processes_with_it(job_dir: Path) -> None:
    argv = [sys.executable, "-c", LEAVES_DAEMONS, str(job_dir), "wait"]
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, *argv],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "running"
        left = marks(job_dir)
        assert all(host_pid(mark) is not None for mark in left)
        worker.kill()
        worker.wait(10)
        killed_at = time.monotonic()
        for mark in left:
            assert await_gone(mark, timeout=5.0), f"{mark} outlived its worker"
        assert time.monotonic() - killed_at < 5.0
    finally:
        worker.kill()
        worker.wait(10)
        if worker.stdout is not None:
            worker.stdout.close()
