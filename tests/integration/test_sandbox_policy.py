"""The sandbox policy as read from the environment (real users, files and a bwrap probe)."""

from __future__ import annotations

import logging
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.executors import run_directories, sandbox
from adapters.executors.command import CommandExecutor
from adapters.executors.process import ProcessRunner
from adapters.executors.run_directories import new_run_directory
from adapters.executors.sandbox import SandboxPolicy, SandboxUnavailable
from jobtypes import Outcome, StopSignal
from tests.integration.test_executors import Log, execution

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="JobLedger runs as root here only")


def test_an_unknown_mode_is_refused_naming_the_variable():
    with pytest.raises(SandboxUnavailable, match="JOBLEDGER_SANDBOX must be auto, bwrap or none"):
        SandboxPolicy.from_environment({"JOBLEDGER_SANDBOX": "docker"})


def test_an_unknown_job_user_is_refused_naming_the_variable():
    with pytest.raises(SandboxUnavailable, match="JOBLEDGER_JOB_USER: no user 'no-such-user-x'"):
        SandboxPolicy.from_environment({"JOBLEDGER_JOB_USER": "no-such-user-x"})


@root_only
def test_under_root_jobs_run_as_nobody_unless_the_operator_says_root():
    nobody = pwd.getpwnam("nobody")
    policy = SandboxPolicy.from_environment({"JOBLEDGER_SANDBOX": "none"})
    assert policy.user is not None and (policy.user.uid, policy.user.gid) == (
        nobody.pw_uid,
        nobody.pw_gid,
    )
    assert SandboxPolicy.from_environment({"JOBLEDGER_JOB_USER": "root"}).user is None


def test_none_runs_without_namespaces_and_says_once_that_containment_is_reduced(caplog):
    sandbox._warn_reduced_containment.cache_clear()
    with caplog.at_level(logging.WARNING, logger="jobledger.executors"):
        first = SandboxPolicy.from_environment({"JOBLEDGER_SANDBOX": "none"})
        SandboxPolicy.from_environment({"JOBLEDGER_SANDBOX": "none"})
    assert first.mode == "none" and not first.sandboxed
    [warning] = [r for r in caplog.records if "containment is reduced" in r.getMessage()]
    assert "JOBLEDGER_SANDBOX=none" in warning.getMessage()


def test_jobledgers_files_are_hidden_but_a_key_given_by_value_never_reaches_the_policy(tmp_path):
    key_file = tmp_path / "master.key"
    key_file.write_text("a key")
    env = {
        "JOBLEDGER_SANDBOX": "none",
        "JOBLEDGER_DATA_DIR": str(tmp_path / "data"),
        "JOBLEDGER_MASTER_KEY": f"file:{key_file}",
        "JOBLEDGER_DATABASE_URL": f"sqlite:///{tmp_path}/elsewhere.db",
    }
    hidden = SandboxPolicy.from_environment(env).hidden
    assert hidden == (tmp_path / "data", key_file, tmp_path / "elsewhere.db")
    by_value = {**env, "JOBLEDGER_MASTER_KEY": "bWFzdGVyLWtleS1ieS12YWx1ZS0zMi1ieXRlcyEhISE="}
    assert "bWFzdGVy" not in repr(SandboxPolicy.from_environment(by_value))


def test_the_data_directory_defaults_to_the_one_jobledger_uses():
    policy = SandboxPolicy.from_environment({"JOBLEDGER_SANDBOX": "none"})
    assert policy.hidden == (Path("jobledger-data").absolute(),)


@root_only
def test_without_a_sandbox_jobs_still_run_as_the_job_user():
    runner = ProcessRunner(sandbox=SandboxPolicy.from_environment({"JOBLEDGER_SANDBOX": "none"}))
    log = Log()
    program = {"argv": ["sh", "-c", 'id -u; test -w "$HOME" && echo home is writable']}
    outcome = CommandExecutor(runner).execute(execution(program), log, StopSignal())
    assert outcome == Outcome(0), log.entries
    assert log.messages() == [str(pwd.getpwnam("nobody").pw_uid), "home is writable"]


def test_run_directories_left_by_a_killed_process_are_removed_by_the_next_one():
    script = (
        "from adapters.executors.run_directories import new_run_directory\n"
        "print(new_run_directory(None).parent, flush=True)\n"
        "import time; time.sleep(60)\n"
    )
    killed = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert killed.stdout is not None
    abandoned = Path(killed.stdout.readline().strip())
    killed.kill()
    killed.wait(10)
    killed.stdout.close()
    alive = new_run_directory(None).parent  # this process's, locked while it lives
    assert abandoned.is_dir()
    run_directories._remove_abandoned()
    assert not abandoned.exists() and alive.is_dir()
