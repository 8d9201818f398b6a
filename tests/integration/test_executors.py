"""The built-in executors against real processes and a real HTTP server (no fakes)."""

from __future__ import annotations

import json
import shutil
import signal
import sys
import textwrap
import threading
import time
from datetime import datetime
from uuid import uuid4

import pytest

from adapters.executors.command import CommandExecutor
from adapters.executors.powershell import PowerShellExecutor
from adapters.executors.process import MAX_LINE_BYTES, ProcessRunner
from adapters.executors.python_callable import PythonExecutor
from domain.log_level import LogLevel
from jobtypes import Execution, Outcome, StopSignal
from tests.process_marks import await_gone, sh_mark

PY = sys.executable
SECRET = "s3cr3t-Qx7-never-logged"


class Log:
    """A LogSink that keeps every entry and lets a test await one."""

    def __init__(self) -> None:
        self.entries: list[tuple[LogLevel, str]] = []
        self._changed = threading.Condition()

    def __call__(self, level: LogLevel, message: str, at: datetime | None = None) -> None:
        with self._changed:
            self.entries.append((level, message))
            self._changed.notify_all()

    def wait_for(self, text: str, timeout: float = 10.0) -> None:
        with self._changed:
            found = self._changed.wait_for(lambda: any(text in m for _, m in self.entries), timeout)
        assert found, f"no entry containing {text!r} in {self.entries}"

    def messages(self, level: LogLevel | None = None) -> list[str]:
        return [m for lv, m in self.entries if level is None or lv is level]


def execution(program: dict, **fields) -> Execution:
    values = dict(
        run_id=uuid4(), job_id=uuid4(), job_name="Nightly sync", job_type="command",
        program=program, parameters={"tenant": "acme"}, secrets={"API_KEY": SECRET},
        log_level=LogLevel.Verbose, timeout_seconds=None, attempt=1,
    )  # fmt: skip
    values.update(fields)
    return Execution(**values)  # type: ignore[arg-type]


def run_command(argv: list[str], log: Log, stop: StopSignal | None = None, **fields) -> Outcome:
    runner = ProcessRunner(grace_seconds=fields.pop("grace", 5.0))
    program = {"argv": argv, **fields.pop("program", {})}
    return CommandExecutor(runner).execute(execution(program, **fields), log, stop or StopSignal())


def python(code: str) -> list[str]:
    return [PY, "-c", textwrap.dedent(code)]


# --- command -------------------------------------------------------------------------------


def test_a_command_gets_parameters_on_stdin_and_in_its_environment_and_secrets_by_name():
    log = Log()
    outcome = run_command(
        python(
            """
            import json, os, sys
            print(json.dumps({"stdin": json.load(sys.stdin),
                              "env": os.environ["JOBLEDGER_PARAMETERS"],
                              "key_is_set": os.environ["API_KEY"] == SECRET}))
        """.replace("SECRET", repr(SECRET))
        ),
        log,
        parameters={"tenant": "acme", "ids": [1, 2]},
    )
    assert outcome == Outcome(0)
    [line] = log.messages(LogLevel.Info)
    seen = json.loads(line)
    assert seen["stdin"] == {"tenant": "acme", "ids": [1, 2]}
    assert json.loads(seen["env"]) == {"tenant": "acme", "ids": [1, 2]}
    assert seen["key_is_set"] is True


def test_a_command_never_inherits_jobledgers_own_environment(monkeypatch):
    monkeypatch.setenv("JOBLEDGER_MASTER_KEY", "bWFzdGVyLWtleQ==")
    monkeypatch.setenv("JOBLEDGER_DATABASE_URL", "postgresql://jl:pw@db/jobledger")
    monkeypatch.setenv("PGPASSWORD", "pw")
    monkeypatch.setenv("CLOUD_TOKEN", "operator-token")
    monkeypatch.setenv("LC_TIME", "C")
    log = Log()
    outcome = run_command(python("import os, json; print(json.dumps(dict(os.environ)))"), log)
    assert outcome == Outcome(0)
    env = json.loads(log.messages(LogLevel.Info)[0])
    assert "PATH" in env and env["LC_TIME"] == "C" and env["API_KEY"] == SECRET
    for name in ("JOBLEDGER_MASTER_KEY", "JOBLEDGER_DATABASE_URL", "PGPASSWORD", "CLOUD_TOKEN"):
        assert name not in env
    assert set(env) - {"JOBLEDGER_PARAMETERS", "API_KEY"} <= {
        "PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP", "USER", "LOGNAME",
        "SHELL", "TERM", "LC_TIME", "LC_ALL", "LC_CTYPE",
    } | {n for n in env if n.startswith("LC_")}  # fmt: skip


def test_stdout_is_info_stderr_is_error_and_prefixes_choose_the_level():
    log = Log()
    outcome = run_command(
        python("""
            import sys
            for level in ("VERBOSE", "DEBUG", "INFO", "WARNING", "ERROR"):
                print(f"{level}: at {level.lower()}", flush=True)
            print("plain out", flush=True)
            print("plain err", file=sys.stderr, flush=True)
        """),
        log,
    )
    assert outcome == Outcome(0)
    assert sorted(log.entries) == sorted([
        (LogLevel.Verbose, "at verbose"), (LogLevel.Debug, "at debug"),
        (LogLevel.Info, "at info"), (LogLevel.Warning, "at warning"),
        (LogLevel.Error, "at error"), (LogLevel.Info, "plain out"),
        (LogLevel.Error, "plain err"),
    ])  # fmt: skip


def test_the_rest_of_an_overlong_line_is_dropped_so_no_piece_shows_a_cut_secret():
    # The secret straddles the reader's cut: neither piece would hold it whole to be masked.
    log = Log()
    outcome = run_command(
        python(f"""
            import os, sys
            sys.stdout.write("x" * ({MAX_LINE_BYTES} - 5) + os.environ["API_KEY"] + "\\n")
            print("after")
        """),
        log,
    )
    assert outcome == Outcome(0)
    first, after = log.messages()
    assert first.startswith("x" * 100) and first.endswith("… (line cut)")
    assert after == "after" and SECRET[5:] not in first  # its rest is nowhere


def test_a_non_zero_exit_fails_with_its_code_and_last_error_lines():
    log = Log()
    outcome = run_command(
        python("""
            import sys
            for i in range(30):
                print(f"problem {i}", file=sys.stderr)
            print("not an error")
            sys.exit(3)
        """),
        log,
    )
    assert outcome.exit_code == 3
    assert outcome.error is not None
    assert outcome.error.splitlines() == [f"problem {i}" for i in range(20, 30)]


def test_a_non_zero_exit_without_error_lines_says_the_code():
    assert run_command(["false"], Log()) == Outcome(1, "exited with code 1")


def test_a_missing_program_or_working_directory_is_named(tmp_path):
    missing = run_command(["no-such-program-xyz"], Log())
    assert missing.exit_code is None
    assert "no-such-program-xyz" in (missing.error or "")
    assert "no such executable" in (missing.error or "")
    bad_cwd = run_command(["true"], Log(), program={"cwd": str(tmp_path / "absent")})
    assert bad_cwd.exit_code is None
    assert "working directory" in (bad_cwd.error or "") and "absent" in (bad_cwd.error or "")


def test_a_working_directory_is_honoured(tmp_path):
    log = Log()
    assert run_command(["pwd"], log, program={"cwd": str(tmp_path)}) == Outcome(0)
    assert log.messages() == [str(tmp_path)]


def test_a_program_that_does_not_read_stdin_is_fine():
    log = Log()
    big = {"blob": "x" * 70_000}  # more than a pipe buffer holds (64 KiB)
    assert run_command(["true"], log, parameters=big) == Outcome(0)


def test_stop_kills_the_whole_process_tree_with_sigterm(job_dir):
    log = Log()
    stop = StopSignal()
    pidfile = job_dir / "grandchild"
    code = f"""
        import os, subprocess, sys, time
        child = subprocess.Popen(["sleep", "60"])
        namespace = os.readlink("/proc/self/ns/pid")  # the pid is the job's namespace's
        open({str(pidfile)!r}, "w").write(f"{{namespace}} {{child.pid}}")
        print("started", flush=True)
        time.sleep(60)
    """
    result: list[Outcome] = []
    worker = threading.Thread(target=lambda: result.append(run_command(python(code), log, stop)))
    worker.start()
    log.wait_for("started")
    began = time.monotonic()
    stop.stop("timeout")
    worker.join(10)
    assert not worker.is_alive()
    assert time.monotonic() - began < 2
    assert result[0].exit_code == -signal.SIGTERM
    assert (result[0].error or "").startswith("stopped (timeout): killed by SIGTERM")
    assert await_gone(pidfile.read_text())


def test_a_tree_that_ignores_sigterm_is_killed_after_the_grace_period():
    log = Log()
    stop = StopSignal()
    script = "trap '' TERM; echo started; sleep 60; echo survived"
    result: list[Outcome] = []
    worker = threading.Thread(
        target=lambda: result.append(run_command(["sh", "-c", script], log, stop, grace=0.3))
    )
    worker.start()
    log.wait_for("started")
    began = time.monotonic()
    stop.stop("cancel")
    worker.join(10)
    elapsed = time.monotonic() - began
    assert 0.3 <= elapsed < 3
    assert result[0].exit_code == -signal.SIGKILL
    assert "stopped (cancel): killed by SIGKILL" in (result[0].error or "")
    assert "survived" not in log.messages()


def test_children_left_behind_are_killed_when_the_program_exits(job_dir):
    pidfile = job_dir / "orphan"
    log = Log()
    began = time.monotonic()
    # The orphan keeps stdout open: without the group kill the run would wait 60 s.
    outcome = run_command(
        ["sh", "-c", f"sleep 60 & echo {sh_mark('$!')} > {pidfile}; echo bye"], log
    )
    assert outcome == Outcome(0)
    assert time.monotonic() - began < 3
    assert log.messages() == ["bye"]
    assert await_gone(pidfile.read_text())


def test_a_program_killed_by_a_signal_reports_it():
    outcome = run_command(["sh", "-c", "echo dying >&2; kill -KILL $$"], Log())
    assert outcome.exit_code == -signal.SIGKILL
    assert outcome.error == "killed by SIGKILL\ndying"


def test_a_run_stopped_before_it_starts_starts_nothing(tmp_path):
    stop = StopSignal()
    stop.stop("cancel")
    marker = tmp_path / "ran"
    outcome = run_command(["touch", str(marker)], Log(), stop)
    assert outcome == Outcome(None, "stopped (cancel) before it started")
    assert not marker.exists()


def test_the_error_text_is_bounded_however_long_the_lines():
    outcome = run_command(python("""
        import sys
        for i in range(10):
            print(str(i) * 1000, file=sys.stderr)
        sys.exit(1)
    """), Log())  # fmt: skip
    assert outcome.error is not None
    assert len(outcome.error) <= 2001 and outcome.error.endswith("9" * 1000)


# --- python --------------------------------------------------------------------------------

JOB_MODULE = """
import asyncio

def sync(context):
    context.verbose("v")
    context.debug("d")
    context.info(f"tenant={context.parameters['tenant']}")
    context.warning("w")
    context.log.error("e")
    print("printed")
    print("WARNING: printed with a prefix")
    assert context.secrets["API_KEY"] == SECRET
    assert SECRET not in repr(context)

def fails(context):
    context.info("about to fail")
    raise RuntimeError("the PSA said no")

def environment(context):
    import json, os
    context.info(json.dumps(sorted(os.environ)))

async def waits(context):
    await asyncio.sleep(0)
    context.info("awaited")
""".replace("SECRET", repr(SECRET))


@pytest.fixture
def job_module(job_dir, monkeypatch):
    name = f"jobs_{uuid4().hex[:8]}"
    (job_dir / f"{name}.py").write_text(JOB_MODULE)
    monkeypatch.syspath_prepend(str(job_dir))
    return name


def run_python(target: str, log: Log, **fields) -> Outcome:
    program = {"callable": target}
    return PythonExecutor().execute(
        execution(program, job_type="python", **fields), log, StopSignal()
    )


def test_a_python_callable_gets_a_context_and_logs_at_five_levels(job_module):
    log = Log()
    assert run_python(f"{job_module}:sync", log) == Outcome(0)
    assert log.entries == [
        (LogLevel.Verbose, "v"), (LogLevel.Debug, "d"), (LogLevel.Info, "tenant=acme"),
        (LogLevel.Warning, "w"), (LogLevel.Error, "e"), (LogLevel.Info, "printed"),
        (LogLevel.Warning, "printed with a prefix"),
    ]  # fmt: skip


def test_a_python_logger_drops_entries_below_the_threshold_at_the_source(job_module):
    log = Log()
    assert run_python(f"{job_module}:sync", log, log_level=LogLevel.Warning) == Outcome(0)
    assert [lv for lv, _ in log.entries if lv < LogLevel.Info] == []
    assert (LogLevel.Warning, "w") in log.entries


def test_a_python_exception_fails_the_run_with_the_end_of_its_traceback(job_module):
    log = Log()
    outcome = run_python(f"{job_module}:fails", log)
    assert outcome.exit_code == 1
    assert outcome.error is not None
    assert outcome.error.splitlines()[-1] == "RuntimeError: the PSA said no"
    assert "python_child" not in outcome.error  # the user's frames, not ours
    assert "Traceback" in log.messages(LogLevel.Error)[0]


def test_a_python_job_never_inherits_jobledgers_own_environment(job_module, monkeypatch):
    monkeypatch.setenv("JOBLEDGER_MASTER_KEY", "bWFzdGVyLWtleQ==")
    monkeypatch.setenv("PGPASSWORD", "pw")
    log = Log()
    assert run_python(f"{job_module}:environment", log) == Outcome(0)
    names = json.loads(log.messages()[0])
    assert "JOBLEDGER_MASTER_KEY" not in names and "PGPASSWORD" not in names
    assert "API_KEY" not in names  # a python job gets its secrets in context.secrets only


def test_a_coroutine_function_is_awaited(job_module):
    log = Log()
    assert run_python(f"{job_module}:waits", log) == Outcome(0)
    assert log.messages() == ["awaited"]


def test_a_callable_that_cannot_be_loaded_is_named(job_module):
    outcome = run_python(f"{job_module}:absent", Log())
    assert outcome.exit_code == 2
    assert f"cannot load '{job_module}:absent'" in (outcome.error or "")
    outcome = run_python("no_such_module_xyz:run", Log())
    assert "No module named 'no_such_module_xyz'" in (outcome.error or "")


# --- powershell ----------------------------------------------------------------------------

PWSH_SCRIPT = r"""
Write-Verbose "verbose $tenant"
Write-Debug 'debug'
Write-Information 'information'
Write-Host 'host'
'output'
Write-Warning 'warning'
Write-Error 'error'
if ($Secrets['API_KEY'] -ne $null) { Write-Host "secret length $($Secrets['API_KEY'].Length)" }
Write-Host "note=$($Parameters['note'])"
exit 4
"""


@pytest.mark.skipif(shutil.which("pwsh") is None, reason="pwsh not on PATH")
def test_a_powershell_script_maps_its_streams_to_levels_with_values_from_stdin():
    log = Log()
    hostile = "'; Write-Host INJECTED; '$(Write-Host INJECTED)`n"
    outcome = PowerShellExecutor().execute(
        execution(
            {"script": PWSH_SCRIPT},
            job_type="powershell",
            parameters={"tenant": "acme", "note": hostile},
        ),
        log,
        StopSignal(),
    )
    assert outcome.exit_code == 4
    assert (LogLevel.Verbose, "verbose acme") in log.entries
    assert (LogLevel.Debug, "debug") in log.entries
    assert (LogLevel.Info, "information") in log.entries
    assert (LogLevel.Info, "host") in log.entries
    assert (LogLevel.Info, "output") in log.entries
    assert (LogLevel.Warning, "warning") in log.entries
    assert any(lv is LogLevel.Error and m.startswith("error") for lv, m in log.entries)
    assert (LogLevel.Info, f"secret length {len(SECRET)}") in log.entries
    assert (LogLevel.Info, f"note={hostile}") in log.entries
    assert "INJECTED" not in log.messages()


@pytest.mark.skipif(shutil.which("pwsh") is None, reason="pwsh not on PATH")
def test_a_powershell_terminating_error_fails_the_run():
    log = Log()
    outcome = PowerShellExecutor().execute(
        execution({"script": "throw 'boom'"}, job_type="powershell"), log, StopSignal()
    )
    assert outcome.exit_code == 1
    assert "boom" in (outcome.error or "")


def test_without_pwsh_a_powershell_run_fails_naming_it(tmp_path, monkeypatch):
    """Where pwsh is missing the run still ends honestly, with an error that says so."""
    monkeypatch.setenv("PATH", str(tmp_path))
    outcome = PowerShellExecutor().execute(
        execution({"script": "Write-Host hi"}, job_type="powershell"), Log(), StopSignal()
    )
    assert outcome.exit_code is None
    assert "'pwsh'" in (outcome.error or "") and "no such executable" in (outcome.error or "")
