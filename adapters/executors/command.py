"""The `command` job type: a program and its arguments, run directly (no shell).

Parameters reach the program as JSON twice over, on stdin and in JOBLEDGER_PARAMETERS, so
both a filter and a program that ignores stdin can read them (the variable only up to 64 KiB,
since a larger one would stop the program from starting); each secret is an environment
variable of its own name (secret names are identifiers), never an argument where `ps` would
show it. Output lines take their level from PowerShell's host prefixes, else their stream.
"""

from __future__ import annotations

import json
from typing import Any

from adapters.executors.environment import child_environment
from adapters.executors.process import ProcessRunner, ProcessSpec
from domain.log_level import LogLevel
from jobtypes import Execution, LogSink, Outcome, StopSignal

# Linux refuses to start a program (execve fails with E2BIG) when one environment string is
# over 128 KiB; well under that, JOBLEDGER_PARAMETERS is left out and stdin carries them alone.
MAX_PARAMETERS_VARIABLE_BYTES = 64 * 1024

PROGRAM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        # The program (argv[0]) must be named; later arguments may be empty strings.
        "argv": {
            "type": "array",
            "prefixItems": [{"type": "string", "minLength": 1}],
            "items": {"type": "string"},
            "minItems": 1,
        },
        "cwd": {"type": "string", "minLength": 1},
    },
    "required": ["argv"],
    "additionalProperties": False,
}


class CommandExecutor:
    """Runs `argv` in `cwd` with the job's parameters on stdin and secrets in the environment."""

    def __init__(self, runner: ProcessRunner | None = None) -> None:
        self.runner = runner or ProcessRunner()

    def execute(self, execution: Execution, log: LogSink, stop: StopSignal) -> Outcome:
        parameters = json.dumps(execution.parameters, ensure_ascii=False)
        size = len(parameters.encode())
        if size <= MAX_PARAMETERS_VARIABLE_BYTES:
            # Secrets first: a secret may not displace the parameters variable.
            env = child_environment({**execution.secrets, "JOBLEDGER_PARAMETERS": parameters})
        else:
            log(
                LogLevel.Warning,
                f"the parameters are {size} bytes of JSON, over the "
                f"{MAX_PARAMETERS_VARIABLE_BYTES // 1024} KiB an environment variable may safely "
                "hold, so JOBLEDGER_PARAMETERS is not set: read them from standard input",
            )
            # Still no secret under the parameters' name: its absence must mean "read stdin".
            env = child_environment(
                {k: v for k, v in execution.secrets.items() if k != "JOBLEDGER_PARAMETERS"}
            )
        spec = ProcessSpec(
            argv=list(execution.program["argv"]),
            env=env,
            stdin=parameters.encode() + b"\n",
            cwd=execution.program.get("cwd"),
        )
        return self.runner.run(spec, log, stop)


class CommandJobType:
    """The `command` job type, as registered in the `jobledger.job_types` entry-point group."""

    name = "command"
    description = (
        'A program run directly, without a shell: program {"argv": [...], "cwd": optional}. '
        "Parameters arrive as JSON on stdin and in JOBLEDGER_PARAMETERS (left out, with a "
        "warning, above 64 KiB); each secret is an "
        "environment variable of its own name. stdout lines are Info, stderr lines Error; a "
        "line starting VERBOSE:, DEBUG:, INFO:, WARNING: or ERROR: takes that level. "
        "Exit 0 succeeds."
    )
    program_schema = PROGRAM_SCHEMA

    def executor(self) -> CommandExecutor:
        return CommandExecutor()


COMMAND = CommandJobType()
