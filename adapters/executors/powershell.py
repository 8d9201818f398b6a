"""The `powershell` job type: a script run by `pwsh`, its five streams mapped to log levels.

The script the user wrote never runs bare. A generated wrapper (powershell_wrapper.py) reads
the run's parameters and secrets as JSON from stdin, defines `$Parameters`, `$Secrets` and one
variable per parameter named like an identifier, binds a `param()` block by name, then runs the
user's script with every stream merged and turns each record (Verbose, Debug, Information/host,
Warning, Error, output) into a record line the runner parses. Values only ever travel on stdin:
the wrapper's text holds parameter names and the user's script, argv holds a fixed bootstrap,
and no file is written.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from adapters.executors.environment import child_environment
from adapters.executors.lines import parse_records
from adapters.executors.powershell_wrapper import BOOTSTRAP, wrapper
from adapters.executors.process import ProcessRunner, ProcessSpec
from adapters.executors.pwsh_probe import probe_pwsh, pwsh_executable
from domain.log_level import LogLevel
from jobtypes import Availability, Execution, LogSink, Outcome, StopSignal

PROGRAM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "script": {"type": "string", "minLength": 1},
        # As Azure Pipelines' PowerShell step: fail the run when the last native command did.
        "fail_on_native_exit_code": {"type": "boolean"},
    },
    "required": ["script"],
    "additionalProperties": False,
}


# pwsh's own settings, set for every run: no start-up telemetry, no update check over the
# network (the allowlist would otherwise leave pwsh at its defaults, which send both).
PWSH_ENVIRONMENT = {"POWERSHELL_TELEMETRY_OPTOUT": "1", "POWERSHELL_UPDATECHECK": "Off"}


def pwsh_argv(executable: str = "pwsh") -> list[str]:
    """The command line: fixed flags and the fixed bootstrap, never a value."""
    return [executable, "-NoLogo", "-NoProfile", "-NonInteractive", "-Command", BOOTSTRAP]


def pwsh_stdin(script_wrapper: str, parameters: dict[str, Any], secrets: dict[str, str]) -> bytes:
    """Line 1: the wrapper (base64 UTF-8); then the values as ASCII JSON, read by the wrapper.

    ASCII (non-ASCII escaped by JSON) so the console's input encoding cannot garble a value.
    """
    values = json.dumps({"parameters": parameters, "secrets": secrets}, ensure_ascii=True)
    return base64.b64encode(script_wrapper.encode()) + b"\n" + values.encode() + b"\n"


class PowerShellExecutor:
    """Runs a job's script through `pwsh` with its parameters and secrets fed on stdin."""

    def __init__(self, runner: ProcessRunner | None = None, executable: str = "pwsh") -> None:
        self.runner = runner or ProcessRunner()
        self.executable = executable

    def execute(self, execution: Execution, log: LogSink, stop: StopSignal) -> Outcome:
        text, skipped = wrapper(
            execution.program["script"],
            execution.parameters,
            execution.log_level,
            fail_on_native_exit_code=bool(execution.program.get("fail_on_native_exit_code")),
        )
        for name in skipped:
            log(
                LogLevel.Warning,
                f"parameter {name!r} is not a PowerShell variable of its own "
                f"(not an identifier, or a reserved name); read it as $Parameters[...]",
            )
        spec = ProcessSpec(
            argv=pwsh_argv(self.executable),
            env=child_environment(PWSH_ENVIRONMENT),
            stdin=pwsh_stdin(text, execution.parameters, execution.secrets),
        )
        return self.runner.run(spec, log, stop, parse_records)


class PowerShellJobType:
    """The `powershell` job type, as registered in the `jobledger.job_types` entry-point group."""

    name = "powershell"
    description = (
        'A PowerShell 7 script, program {"script": "..."}, run by '
        "pwsh -NoLogo -NoProfile -NonInteractive. $Parameters holds the parameters (and each "
        "one whose name is an identifier is also a variable, e.g. $tenant), and a param() "
        "block gets the parameters it declares, by name; $Secrets holds the secrets. "
        "Write-Verbose, Write-Debug, Write-Information/Write-Host and output, Write-Warning "
        "and Write-Error map to Verbose, Debug, Info, Warning and Error. A terminating error "
        "fails the run (exit 1), `exit N` ends it with N, other errors are logged and the "
        'script goes on; "fail_on_native_exit_code": true also fails it when the last '
        "native command failed."
    )
    program_schema = PROGRAM_SCHEMA

    def executor(self) -> PowerShellExecutor:
        return PowerShellExecutor(executable=pwsh_executable())

    def check(self) -> Availability:
        """pwsh 7.4+ on PATH or at JOBLEDGER_PWSH (jobtypes.ChecksRequirements)."""
        return probe_pwsh()


POWERSHELL = PowerShellJobType()
