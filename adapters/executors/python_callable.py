"""The `python` job type: a callable `module:function`, called in a child process.

A child process, not a thread: a job's crash, leak or blocking call cannot take the worker
down, and a timeout or cancel can kill it (and what it started) like any other program.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from adapters.executors.environment import child_environment
from adapters.executors.lines import parse_records
from adapters.executors.process import ProcessRunner, ProcessSpec
from jobtypes import Execution, LogSink, Outcome, StopSignal

CHILD_MODULE = "adapters.executors.python_child"
PROGRAM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "callable": {"type": "string", "pattern": r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$"},
    },
    "required": ["callable"],
    "additionalProperties": False,
}


class PythonExecutor:
    """Starts the child with this interpreter and hands it the run as JSON on stdin."""

    def __init__(self, runner: ProcessRunner | None = None) -> None:
        self.runner = runner or ProcessRunner()

    def execute(self, execution: Execution, log: LogSink, stop: StopSignal) -> Outcome:
        sys_path = [entry for entry in sys.path if entry]
        document = {
            "callable": execution.program["callable"],
            "parameters": execution.parameters,
            "secrets": execution.secrets,
            "log_level": execution.log_level.name,
            "run_id": str(execution.run_id),
            "job_id": str(execution.job_id),
            "job_name": execution.job_name,
            "attempt": execution.attempt,
            # What JobLedger can import, the job can: the same search path, not PYTHONPATH.
            "sys_path": sys_path,
        }
        env = child_environment({"PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1"})
        spec = ProcessSpec(
            argv=[sys.executable, "-m", CHILD_MODULE],
            env=env,
            stdin=json.dumps(document, ensure_ascii=False).encode(),
            readable=sys_path,  # the job user must see that path inside the sandbox too
        )
        return self.runner.run(spec, log, stop, parse_records)


class PythonJobType:
    """The `python` job type, as registered in the `jobledger.job_types` entry-point group."""

    name = "python"
    description = (
        'A Python callable, program {"callable": "package.module:function"}, called in a '
        "child process with one argument, a context: context.parameters (dict), "
        "context.secrets (dict of str), and a leveled logger context.verbose/debug/info/"
        "warning/error(message) (also context.log). print() is Info, stderr is Error. "
        "Returning (or awaiting a coroutine) succeeds; an exception fails the run with its "
        "traceback."
    )
    program_schema = PROGRAM_SCHEMA

    def executor(self) -> PythonExecutor:
        return PythonExecutor()


PYTHON = PythonJobType()
