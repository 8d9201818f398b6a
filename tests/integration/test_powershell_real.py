"""The `powershell` job type against a real pwsh 7.4+: run with `make test-pwsh`.

Skipped, with the reason "pwsh not on PATH", on machines without PowerShell (ours cannot install
it); tests/unit/test_powershell_wrapper.py checks the generated wrapper's shape everywhere.
Each test names the script, the log lines it must produce with their levels (after the job's
threshold and secret masking, as the worker's log sink applies them), and the outcome. The
expectations follow PowerShell's documented console behaviour (about_Pwsh, about_Redirection,
about_Preference_Variables) and its 7.4 source; where a real pwsh disagrees, this file is
the specification to reconcile with it.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import threading
from datetime import datetime
from uuid import uuid4

import pytest

from adapters.executors.environment import child_environment
from adapters.executors.lines import CUT_NOTE, parse_records
from adapters.executors.powershell import PWSH_ENVIRONMENT, PowerShellExecutor, pwsh_argv
from adapters.executors.powershell_wrapper import wrapper
from adapters.executors.process import ProcessRunner, ProcessSpec
from domain.log_level import LogLevel
from domain.redaction import Redactor
from jobtypes import Execution, Outcome, StopSignal
from tests.process_marks import await_gone

PWSH = shutil.which("pwsh")
pytestmark = pytest.mark.skipif(PWSH is None, reason="pwsh not on PATH")

VERBOSE, DEBUG, INFO, WARNING, ERROR = list(LogLevel)
SECRET = "Zq9-hunter2-never-shown"
# Longer than any of these scripts needs, even on a slow machine's first pwsh start.
RUN_TIMEOUT_SECONDS = 120


@pytest.fixture(scope="module", autouse=True)
def pwsh_7_4_or_later() -> None:
    assert PWSH is not None
    version = subprocess.run(
        [PWSH, "-NoLogo", "-NoProfile", "-NonInteractive", "-Command",
         "$PSVersionTable.PSVersion.ToString()"],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS, check=True,
    ).stdout.strip()  # fmt: skip
    major, minor = (int(part) for part in version.split(".")[:2])
    if (major, minor) < (7, 4):
        pytest.skip(f"pwsh {version} is older than 7.4")


class SinkLog:
    """A LogSink that applies the threshold and masks secrets as the worker's sink does."""

    def __init__(self, threshold: LogLevel, secrets: dict[str, str]) -> None:
        self.threshold = threshold
        self.redactor = Redactor(secrets.values())
        self.entries: list[tuple[LogLevel, str]] = []
        self._changed = threading.Condition()

    def __call__(self, level: LogLevel, message: str, at: datetime | None = None) -> None:
        if level < self.threshold:
            return
        with self._changed:
            self.entries.append((level, self.redactor.redact(message)))
            self._changed.notify_all()

    def wait_for(self, pattern: str) -> re.Match[str]:
        def found() -> re.Match[str] | None:
            return next((m for _, t in self.entries if (m := re.search(pattern, t))), None)

        with self._changed:
            assert self._changed.wait_for(found, RUN_TIMEOUT_SECONDS), self.entries
            match = found()
        assert match is not None
        return match

    def at(self, level: LogLevel) -> list[str]:
        return [message for lv, message in self.entries if lv is level]


def run(
    script: str,
    *,
    parameters: dict | None = None,
    secrets: dict[str, str] | None = None,
    threshold: LogLevel = LogLevel.Verbose,
    options: dict | None = None,
    stop: StopSignal | None = None,
    log: SinkLog | None = None,
) -> tuple[Outcome, SinkLog]:
    secrets = secrets or {}
    log = log or SinkLog(threshold, secrets)
    execution = Execution(
        run_id=uuid4(), job_id=uuid4(), job_name="pwsh", job_type="powershell",
        program={"script": script, **(options or {})}, parameters=parameters or {},
        secrets=secrets, log_level=threshold, timeout_seconds=None, attempt=1,
    )  # fmt: skip
    return _guarded(lambda s: PowerShellExecutor().execute(execution, log, s), stop), log


def _guarded(call, stop: StopSignal | None) -> Outcome:
    """Run on a thread so a hang fails the test (after stopping the run) instead of the suite."""
    stop = stop or StopSignal()
    result: list[Outcome] = []
    worker = threading.Thread(target=lambda: result.append(call(stop)), daemon=True)
    worker.start()
    worker.join(RUN_TIMEOUT_SECONDS)
    if worker.is_alive():
        stop.stop("timeout")
        worker.join(RUN_TIMEOUT_SECONDS)
        pytest.fail(f"the run did not end within {RUN_TIMEOUT_SECONDS} s")
    return result[0]


# --- streams and formatting -----------------------------------------------------------------

STREAMS = """\
Write-Verbose 'verbose'
Write-Debug 'debug'
Write-Information 'information'
Write-Host 'host'
'output'
Write-Warning 'warning'
Write-Error 'error'
"""


def test_the_streams_map_to_the_five_levels_at_threshold_info():
    outcome, log = run(STREAMS, threshold=LogLevel.Info)
    assert outcome == Outcome(0)
    assert log.entries == [
        (INFO, "information"), (INFO, "host"), (INFO, "output"), (WARNING, "warning"),
        (ERROR, "error (line 7)"),
    ]  # fmt: skip


def test_only_errors_are_kept_at_threshold_error():
    outcome, log = run(STREAMS, threshold=LogLevel.Error)
    assert outcome == Outcome(0)
    assert log.entries == [(ERROR, "error (line 7)")]


def test_verbose_and_debug_are_kept_at_threshold_verbose():
    outcome, log = run(STREAMS, threshold=LogLevel.Verbose)
    assert outcome == Outcome(0)
    assert log.entries[:2] == [(VERBOSE, "verbose"), (DEBUG, "debug")]


def test_format_table_and_format_list_output_is_logged_and_the_run_succeeds():
    script = """\
Get-ChildItem -Path $PSHOME -Filter 'pwsh*' | Format-Table Name, Length
Get-Item -Path $PSHOME | Format-List Name, FullName
'after'
"""
    outcome, log = run(script)
    assert outcome == Outcome(0)
    info = log.at(INFO)
    # File listings are grouped under a "Directory: ..." line, then the one table.
    (header,) = [i for i, line in enumerate(info) if re.fullmatch(r"Name\s+Length", line)]
    assert re.fullmatch(r"-+\s+-+", info[header + 1])
    assert any(re.match(r"pwsh\S*\s+\d+$", line) for line in info[header + 2 :])
    assert any(re.fullmatch(r"FullName\s*: .+", line) for line in info)
    assert info[-1] == "after" and log.at(ERROR) == []


def test_two_pscustomobjects_share_one_table_header():
    script = """\
[pscustomobject]@{ Name = 'alpha'; Size = 1 }
[pscustomobject]@{ Name = 'beta'; Size = 22 }
"""
    outcome, log = run(script)
    assert outcome == Outcome(0)
    info = log.at(INFO)
    assert len(info) == 4, info
    assert re.fullmatch(r"Name\s+Size", info[0]) and re.fullmatch(r"-+\s+-+", info[1])
    assert re.fullmatch(r"alpha\s+1", info[2]) and re.fullmatch(r"beta\s+22", info[3])


def test_write_host_no_newline_pieces_make_one_line():
    script = "Write-Host -NoNewline 'a'; Write-Host -NoNewline 'b'; Write-Host 'c'\n"
    script += "Write-Host -NoNewline 'tail'\n"
    outcome, log = run(script)
    assert outcome == Outcome(0)
    assert log.entries == [(INFO, "abc"), (INFO, "tail")]


def test_a_module_functions_verbose_and_write_error_follow_the_global_preferences():
    script = """\
New-Module -Name JobLedgerTest -ScriptBlock {
    function Invoke-Thing {
        [CmdletBinding()] param()
        Write-Verbose 'module verbose'
        Write-Error 'module error'
        'module after'
    }
} | Import-Module
Invoke-Thing
'script after'
"""
    outcome, log = run(script)
    assert outcome == Outcome(0)
    # Import-Module itself is verbose ("Importing function ...") when Verbose is on.
    entries = log.entries[log.entries.index((VERBOSE, "module verbose")) :]
    assert [level for level, _ in entries] == [VERBOSE, ERROR, INFO, INFO]
    assert entries[1][1].startswith("module error")
    assert entries[2:] == [(INFO, "module after"), (INFO, "script after")]


def test_write_progress_writes_nothing():
    script = "1..3 | ForEach-Object { Write-Progress -Activity 'work' -PercentComplete ($_ * 30) }"
    outcome, log = run(script + "\n'done'\n")
    assert outcome == Outcome(0)
    assert log.entries == [(INFO, "done")]


def test_a_script_with_no_output_logs_nothing_and_succeeds():
    outcome, log = run("$null = 1\n''\n")
    assert outcome == Outcome(0)
    assert log.entries == []


# --- errors and exit codes ------------------------------------------------------------------


def test_a_statement_terminating_error_is_logged_and_the_script_goes_on():
    outcome, log = run("1/0; 'after'\n")
    assert outcome == Outcome(0)
    assert len(log.entries) == 2
    level, message = log.entries[0]
    assert level is ERROR and message.startswith("Attempted to divide by zero.")
    assert message.endswith("(line 1)")
    assert log.entries[1] == (INFO, "after")


def test_net_exceptions_missing_commands_and_binding_errors_do_not_stop_the_script():
    script = """\
[int]::Parse('x')
Get-NoSuchCommand
Get-Item -NoSuchParameter
'after'
"""
    outcome, log = run(script)
    assert outcome == Outcome(0)
    assert [level for level, _ in log.entries] == [ERROR, ERROR, ERROR, INFO]
    assert [m.rsplit(" (line ", 1)[1] for m in log.at(ERROR)] == ["1)", "2)", "3)"]
    assert "Get-NoSuchCommand" in log.at(ERROR)[1]
    assert log.entries[-1] == (INFO, "after")


def test_silently_continue_suppresses_errors_as_in_a_console():
    script = "$ErrorActionPreference = 'SilentlyContinue'\nGet-Item /no/such/path\n1/0\n'after'\n"
    outcome, log = run(script)
    assert outcome == Outcome(0)
    assert log.entries == [(INFO, "after")]


def test_throw_fails_the_run_with_exit_1_and_the_error_logged():
    outcome, log = run("'before'\nthrow 'boom'\n'after'\n")
    assert outcome.exit_code == 1
    assert "boom" in (outcome.error or "")
    assert log.at(INFO) == ["before"]
    # pwsh reports what escapes the script on stderr (its ConciseView), logged as Error.
    assert any("boom" in message for message in log.at(ERROR))


def test_error_action_stop_ends_the_script_and_fails_the_run():
    outcome, log = run("Get-Item /no/such/path -ErrorAction Stop\n'after'\n")
    assert outcome.exit_code == 1
    assert "after" not in log.at(INFO)
    assert any("/no/such/path" in message for message in log.at(ERROR))


@pytest.mark.parametrize(
    ("statement", "exit_code"),
    # Linux keeps the low 8 bits of an exit status: 300 is 44, -1 is 255.
    [("exit 7", 7), ("exit 300", 44), ("exit -1", 255), ("exit 0", 0)],
)
def test_exit_n_ends_the_run_with_n_as_the_os_reports_it(statement, exit_code):
    outcome, log = run(f"'before'\n{statement}\n'after'\n")
    assert outcome.exit_code == exit_code
    assert log.entries == [(INFO, "before")]


NATIVE = """\
sh -c 'echo native-out; echo native-err >&2; exit 3'
"code $LASTEXITCODE"
"""


def test_a_native_commands_stderr_is_an_error_and_its_exit_code_is_in_lastexitcode():
    outcome, log = run(NATIVE)
    assert outcome == Outcome(0)  # as in a console: a native failure does not stop the script
    assert sorted(log.entries[:2]) == sorted([(INFO, "native-out"), (ERROR, "native-err")])
    assert log.entries[2:] == [(INFO, "code 3")]


def test_fail_on_native_exit_code_fails_the_run_with_the_last_native_exit_code():
    outcome, log = run(NATIVE, options={"fail_on_native_exit_code": True})
    assert outcome.exit_code == 3
    assert log.entries[2:] == [
        (INFO, "code 3"),
        (ERROR, "the last native command exited with code 3"),
    ]


def test_a_syntax_error_is_reported_with_the_scripts_own_line_and_nothing_runs():
    outcome, log = run("'first'\nWrite-Host 'a' )\n'third'\n")
    assert outcome.exit_code == 1
    assert log.at(INFO) == []
    (message,) = log.at(ERROR)
    assert message.startswith("syntax error at line 2, column 16: Unexpected token ')'")


def test_a_malformed_values_document_stops_the_run_before_the_script():
    text, _ = wrapper("'ran'", {}, LogLevel.Verbose)
    stdin = base64.b64encode(text.encode()) + b"\n{not json\n"
    log = SinkLog(LogLevel.Verbose, {})
    env = child_environment(PWSH_ENVIRONMENT)
    spec = ProcessSpec(argv=pwsh_argv(PWSH or "pwsh"), env=env, stdin=stdin)
    outcome = _guarded(lambda s: ProcessRunner().run(spec, log, s, parse_records), None)
    assert outcome.exit_code == 1
    (message,) = log.at(ERROR)
    assert message.startswith(
        "JobLedger could not read this run's parameters and secrets, so the script did not run"
    )
    assert log.at(INFO) == []


def test_read_host_fails_with_a_clear_error_instead_of_waiting():
    outcome, log = run("$answer = Read-Host 'Name?'\n'after read'\n")
    assert any("NonInteractive" in message for message in log.at(ERROR)), log.entries
    assert log.at(INFO)[-1:] == ["after read"]
    assert outcome == Outcome(0)


def test_a_70000_character_write_error_is_logged_as_an_error_cut_to_the_line_limit():
    outcome, log = run("Write-Error ('x' * 70000)\n'after'\n")
    assert outcome == Outcome(0)
    (message,) = log.at(ERROR)
    assert message.startswith("xxxx") and message.endswith(CUT_NOTE)
    assert log.entries[-1] == (INFO, "after")


# --- parameters, param() blocks and secrets -------------------------------------------------


def test_parameters_of_every_json_shape_arrive_as_powershell_values():
    parameters = {
        "tenant-id": "t-1", "1st": "first", "nested": {"Deep": {"list": [1, "two", None]}},
        "empty": None, "big": 9007199254740993, "when": "2024-05-01T00:00:00Z",
        "Tenant": "acme",
    }  # fmt: skip
    script = """\
"tenant-id=$($Parameters['tenant-id']) 1st=$($Parameters['1st'])"
"deep=$($Parameters.nested.deep.list.Count) $($Parameters['NESTED']['DEEP']['LIST'][1])"
"null=$($null -eq $empty) $($Parameters.ContainsKey('EMPTY'))"
"big=$big $($big.GetType().Name)"
"when=$when $($when.GetType().Name)"
"tenant=$TENANT $($Parameters['tenant'])"
"secret=$($Secrets['when'].GetType().Name) $($Secrets.WHEN)"
"""
    outcome, log = run(script, parameters=parameters, secrets={"WHEN": "2030-01-01T00:00:00+02:00"})
    assert outcome == Outcome(0)
    assert log.at(INFO) == [
        "tenant-id=t-1 1st=first",
        "deep=3 two",
        "null=True True",
        "big=9007199254740993 Int64",
        "when=2024-05-01T00:00:00Z String",
        "tenant=acme acme",
        "secret=String ***",
    ]
    assert len(log.at(WARNING)) == 2  # 'tenant-id' and '1st' are not variables of their own


PARAM_BLOCK = """\
param(
    [Parameter(Mandatory)] [string] $Tenant,
    [int] $Count = 1,
    [switch] $DryRun
)
"tenant=$Tenant count=$Count type=$($Count.GetType().Name) dry=$DryRun"
"""


def test_a_param_block_gets_the_job_parameters_it_declares_by_name():
    parameters = {"tenant": "acme", "COUNT": "5", "dryrun": True, "other": "x"}
    outcome, log = run(PARAM_BLOCK, parameters=parameters)
    assert outcome == Outcome(0)
    assert log.at(INFO) == ["tenant=acme count=5 type=Int32 dry=True"]


def test_a_missing_mandatory_parameter_stops_the_run_before_the_script():
    outcome, log = run(PARAM_BLOCK, parameters={"count": 2})
    assert outcome.exit_code == 1
    assert log.entries == [
        (ERROR, "the script's param() block requires Tenant, which this run's parameters do "
            "not have; the script did not run"),
    ]  # fmt: skip


def test_a_value_the_param_block_refuses_fails_the_run():
    outcome, log = run(PARAM_BLOCK, parameters={"tenant": "acme", "count": "many"})
    assert outcome.exit_code == 1
    assert log.at(INFO) == []
    assert any("Count" in message for message in log.at(ERROR))


def test_a_secret_is_masked_in_clear_and_in_base64_and_absent_from_cmdline_and_environ():
    script = """\
Write-Host "clear $($Secrets['API_KEY'])"
Write-Host ('b64 ' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($Secrets.api_key)))
$cmdline = [IO.File]::ReadAllText("/proc/$PID/cmdline")
$environ = [IO.File]::ReadAllText("/proc/$PID/environ")
"cmdline=$($cmdline.Contains($Secrets.API_KEY)) environ=$($environ.Contains($Secrets.API_KEY))"
"""
    outcome, log = run(script, secrets={"API_KEY": SECRET})
    assert outcome == Outcome(0)
    assert log.entries == [
        (INFO, "clear ***"), (INFO, "b64 ***"), (INFO, "cmdline=False environ=False"),
    ]  # fmt: skip


def test_a_hostile_parameter_name_and_value_are_data_never_code():
    # One line (a value with a newline would be logged as two lines, as any output is).
    hostile_value = "'; Write-Host INJECTED; '$(Write-Host INJECTED)`n\"@ '@ }"
    hostile_name = "x'; Write-Host INJECTED; '"
    parameters = {"note": hostile_value, hostile_name: "v"}
    outcome, log = run('"note=$note"\n"count=$($Parameters.Count)"\n', parameters=parameters)
    assert outcome == Outcome(0)
    assert log.at(INFO) == [f"note={hostile_value}", "count=2"]
    assert "INJECTED" not in [message.strip() for _, message in log.entries]


def test_pwsh_runs_with_telemetry_and_update_checks_off():
    outcome, log = run('"$env:POWERSHELL_TELEMETRY_OPTOUT $env:POWERSHELL_UPDATECHECK"\n')
    assert outcome == Outcome(0)
    assert log.at(INFO) == ["1 Off"]


def test_non_ascii_output_survives_without_a_locale(monkeypatch):
    for name in ("LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    script = (
        "'Grüße, 日本語, ✓'\nWrite-Host 'café'\nWrite-Error 'naïve'\nprintf 'Ünïcode native\\n'\n"
    )
    outcome, log = run(script)
    assert outcome == Outcome(0)
    assert log.entries == [
        (INFO, "Grüße, 日本語, ✓"), (INFO, "café"), (ERROR, "naïve (line 3)"),
        (INFO, "Ünïcode native"),
    ]  # fmt: skip


# --- cancel ---------------------------------------------------------------------------------


def test_cancel_during_a_native_sleep_ends_the_whole_group():
    script = """\
"pwsh $(readlink /proc/$PID/ns/pid) $PID"
sh -c 'echo "sleep $(readlink /proc/self/ns/pid) $$"; exec sleep 60'
'not reached'
"""
    stop = StopSignal()
    log = SinkLog(LogLevel.Verbose, {})
    result: list[Outcome] = []
    worker = threading.Thread(
        target=lambda: result.append(run(script, stop=stop, log=log)[0]), daemon=True
    )
    worker.start()
    pwsh_mark = log.wait_for(r"^pwsh (.+)$").group(1)
    sleep_mark = log.wait_for(r"^sleep (.+)$").group(1)
    stop.stop("cancel")
    worker.join(RUN_TIMEOUT_SECONDS)
    assert not worker.is_alive()
    assert (result[0].error or "").startswith("stopped (cancel)")
    assert await_gone(sleep_mark) and await_gone(pwsh_mark)
    assert "not reached" not in log.at(INFO)
