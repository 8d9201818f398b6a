"""The job-type plugin API: what the engine needs from a job type, and what a job type
gets from the engine.

A job type (built in, or a plugin in the `jobledger.job_types` entry-point group) supplies an
`Executor`. The worker builds one `Execution` per claimed run, hands it a `LogSink` and a
`StopSignal`, and records the `Outcome`. Executors never touch the event store: the worker
owns thresholds, redaction, batching and the run's lifecycle events. A job type that needs
something of the machine (a program, a version) says whether it has it with `check()`
(`ChecksRequirements`); each worker asks at start and claims only the runs it can run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from domain.log_level import LogLevel


@dataclass(frozen=True)
class Execution:
    """Everything one run needs, resolved by the worker at the job version the run records."""

    run_id: UUID
    job_id: UUID
    job_name: str
    job_type: str
    program: dict[str, Any]
    parameters: dict[str, Any]
    # Plain values, decrypted by the worker for this run only. Never logged, never in argv.
    secrets: dict[str, str] = field(repr=False)
    log_level: LogLevel
    timeout_seconds: int | None
    attempt: int


class LogSink(Protocol):
    """Where an executor sends each log line. Thread-safe; cheap to call per line.

    `at` is when the line was produced, if the executor knows it (a process's output is
    stamped as it is read); otherwise the sink stamps it on arrival."""

    def __call__(self, level: LogLevel, message: str, at: datetime | None = None) -> None: ...


class StopSignal:
    """Set by the worker when a run must end early: reason "timeout" or "cancel"."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason: str | None = None

    def stop(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)


@dataclass(frozen=True)
class Outcome:
    """How the program ended. `exit_code` 0 and no `error` is success; anything else failed.

    When the worker stopped the run (`StopSignal`), the worker records timed_out/cancelled
    from the signal's reason, whatever the outcome says.
    """

    exit_code: int | None
    error: str | None = None


class Executor(Protocol):
    """Runs one program to completion (or until stopped) and reports how it ended."""

    def execute(self, execution: Execution, log: LogSink, stop: StopSignal) -> Outcome: ...


class JobType(Protocol):
    """One job type: its name, a description, a JSON Schema for `program`, and its executor."""

    name: str
    description: str
    program_schema: dict[str, Any]

    def executor(self) -> Executor: ...


class ChecksOverrides(Protocol):
    """Optional for a job type: refuse run-now parameter overrides that would send the job's
    secrets somewhere its own parameters do not (the `http` type compares the URL's origin).
    Called only for callers who may not override any parameter (not administrators)."""

    def check_overrides(
        self, program: dict[str, Any], own: dict[str, Any], effective: dict[str, Any]
    ) -> None:
        """Raise domain.errors.NotPermitted naming the parameter at fault."""
        ...


@dataclass(frozen=True)
class Availability:
    """Whether this machine can run a job type: if not, `reason` says why and what to do
    ("pwsh not found on PATH; install PowerShell 7.4 or later"); `detail` says what was
    checked ("pwsh 7.4.6 at /usr/bin/pwsh"), for `jobledger worker --check`."""

    available: bool
    reason: str | None = None
    detail: str | None = None


# What a job type without requirements is: runnable wherever JobLedger runs.
AVAILABLE = Availability(available=True)


class ChecksRequirements(Protocol):
    """Optional for a job type: probe this machine for what the type needs (a program on
    PATH, its version). Called once per worker start, off the run path; may take a few
    seconds, must not raise for a missing requirement (say so in the Availability)."""

    def check(self) -> Availability: ...
