"""Jobs are isolated from each other and from JobLedger: real jobs in a real sandbox look for
another job's secret, the master key, the database files and the data directory, and run as
the unprivileged job user. Skipped where bwrap cannot run, failed instead on CI (CI=true).
"""

from __future__ import annotations

import json
import os
import pwd
import sys
import textwrap
import threading
from pathlib import Path
from uuid import uuid4

import pytest

from adapters.executors.command import CommandExecutor
from adapters.executors.process import ProcessRunner
from adapters.executors.python_callable import PythonExecutor
from adapters.master_key import MasterKey
from jobtypes import Outcome, StopSignal
from tests.integration.test_executors import Log, execution
from tests.integration.test_run_containment import sandbox_required  # noqa: F401 (autouse)

# Scans what a job could use to find other jobs' secrets and JobLedger's keys.
SNOOP = textwrap.dedent("""
    import glob, json, os, sys
    data_dir = sys.argv[1]
    # One JSON line per finding: the log cuts lines at 64 KiB.
    for path in glob.glob("/proc/[0-9]*/environ"):
        try:
            with open(path, "rb") as environ:
                print(json.dumps({"environ": environ.read().decode(errors="replace")}))
        except OSError:
            pass
    try:
        print(json.dumps({"data_dir": os.listdir(data_dir)}))
    except OSError as error:
        print(json.dumps({"data_dir": type(error).__name__}))
    for name in ("master.key", "jobledger.sqlite3"):
        try:
            with open(os.path.join(data_dir, name), "rb") as file:
                print(json.dumps({name: file.read().decode(errors="replace")}))
        except OSError as error:
            print(json.dumps({name: type(error).__name__}))
""")


@pytest.fixture(params=["private", "world-readable"])
def data_dir(request: pytest.FixtureRequest, job_dir: Path, monkeypatch) -> tuple[Path, str]:
    """A data directory with a master key and a SQLite file; hidden whatever its modes."""
    folder = job_dir / "data"
    folder.mkdir(mode=0o700)
    key = MasterKey.generate().to_text()
    (folder / "master.key").write_text(key)
    (folder / "jobledger.sqlite3").write_text("SQLite format 3\0 the event store")
    if request.param == "world-readable":  # defence in depth: the sandbox hides it anyway
        folder.chmod(0o755)
        for file in folder.iterdir():
            file.chmod(0o644)
    else:
        (folder / "master.key").chmod(0o600)
    monkeypatch.setenv("JOBLEDGER_DATA_DIR", str(folder))
    return folder, key


def test_a_job_finds_neither_another_jobs_secret_nor_the_master_key(data_dir) -> None:
    folder, key = data_dir
    other_secret = f"other-job-secret-{uuid4().hex}"
    # The policy is read when the runner is made: after JOBLEDGER_DATA_DIR is set.
    executor = CommandExecutor(ProcessRunner(grace_seconds=1.0))
    holder_log, holder_stop = Log(), StopSignal()
    holder = threading.Thread(
        target=executor.execute,
        args=(
            execution(
                {"argv": ["sh", "-c", "echo started; sleep 60 & wait"]},
                secrets={"OTHER_SECRET": other_secret},
            ),
            holder_log,
            holder_stop,
        ),
    )
    holder.start()
    try:
        holder_log.wait_for("started")
        snoop_log = Log()
        outcome = executor.execute(
            execution({"argv": [sys.executable, "-c", SNOOP, str(folder)]}), snoop_log, StopSignal()
        )
    finally:
        holder_stop.stop("cancel")
        holder.join(10)
    assert outcome == Outcome(0), snoop_log.entries
    found: dict[str, list] = {}
    for line in snoop_log.messages():
        for name, value in json.loads(line).items():
            found.setdefault(name, []).append(value)
    seen = json.dumps(found)
    assert found["environ"], "the job saw no environment at all, not even its own"
    assert other_secret not in seen
    assert key not in seen
    assert found["data_dir"] in ([[]], ["PermissionError"])  # hidden: empty, or not listable
    unreadable = ("FileNotFoundError", "PermissionError")
    for name in ("master.key", "jobledger.sqlite3"):
        assert found[name][0] in unreadable


def expected_job_uid() -> int:
    """nobody's under root (the default); else JobLedger's own user."""
    return pwd.getpwnam("nobody").pw_uid if os.geteuid() == 0 else os.geteuid()


def test_a_job_runs_as_the_unprivileged_job_user_with_a_private_home(monkeypatch) -> None:
    monkeypatch.delenv("JOBLEDGER_JOB_USER", raising=False)
    log = Log()
    script = 'id -u; echo "$HOME"; echo "$TMPDIR"; touch "$HOME/written" && echo wrote'
    program = {"argv": ["sh", "-c", script]}
    outcome = CommandExecutor().execute(execution(program), log, StopSignal())
    assert outcome == Outcome(0), log.entries
    uid, home, tmpdir, wrote = log.messages()
    assert int(uid) == expected_job_uid()
    if os.geteuid() == 0:
        assert int(uid) != 0
    assert home == tmpdir and wrote == "wrote"
    assert not Path(home).exists()  # removed with its run


JOB_MODULE = """
import multiprocessing
import os

def whoami(context):
    context.info(str(os.getuid()))

def uses_processes(context):
    with multiprocessing.Pool(2) as pool:  # semaphores in /dev/shm
        context.info(str(pool.map(abs, [-1, -2])))
"""


def test_a_python_job_runs_as_the_job_user_and_imports_its_module(job_dir, monkeypatch) -> None:
    monkeypatch.delenv("JOBLEDGER_JOB_USER", raising=False)
    name = f"jobs_{uuid4().hex[:8]}"
    (job_dir / f"{name}.py").write_text(JOB_MODULE)
    monkeypatch.syspath_prepend(str(job_dir))
    log = Log()
    outcome = PythonExecutor().execute(
        execution({"callable": f"{name}:whoami"}, job_type="python"), log, StopSignal()
    )
    assert outcome == Outcome(0), log.entries
    assert log.messages() == [str(expected_job_uid())]


def test_a_python_job_can_use_multiprocessing_in_the_sandbox(job_dir, monkeypatch) -> None:
    name = f"jobs_{uuid4().hex[:8]}"
    (job_dir / f"{name}.py").write_text(JOB_MODULE)
    monkeypatch.syspath_prepend(str(job_dir))
    log = Log()
    outcome = PythonExecutor().execute(
        execution({"callable": f"{name}:uses_processes"}, job_type="python"), log, StopSignal()
    )
    assert outcome == Outcome(0), log.entries
    assert log.messages() == ["[1, 2]"]
