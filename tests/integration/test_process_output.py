"""A job's output and input at the edges, against real processes: the order of stdout and
stderr lines, and parameters too large for an environment variable."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import threading
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

from adapters.executors.command import MAX_PARAMETERS_VARIABLE_BYTES, CommandExecutor
from adapters.executors.process import ProcessRunner
from domain.log_level import LogLevel
from jobtypes import Execution, Outcome, StopSignal

# How long the sink below dwells on the first line at most, when nothing overtakes it.
DWELL_SECONDS = 0.5


def command(argv: list[str], parameters: dict) -> Execution:
    return Execution(
        run_id=uuid4(), job_id=uuid4(), job_name="order", job_type="command",
        program={"argv": argv}, parameters=parameters, secrets={},
        log_level=LogLevel.Verbose, timeout_seconds=None, attempt=1,
    )  # fmt: skip


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


class SlowOnFirstLineLog:
    """A LogSink that is slow on the first stdout line, as masking a long line can be.

    On that line it acknowledges it to the program (through a FIFO, so the program writes its
    stderr line only once the runner has read the stdout one), then dwells until the stderr
    line reaches the sink too, or DWELL_SECONDS. A runner that logs each stream from its own
    thread lets the stderr line overtake; one that logs in read order does not.
    """

    def __init__(self, ack: Path) -> None:
        self.ack = ack
        self.entries: list[tuple[LogLevel, str]] = []
        self.stamps: dict[str, tuple[datetime | None, datetime]] = {}  # (at, received)
        self._lock = threading.Lock()
        self._stderr_arrived = threading.Event()

    def __call__(self, level: LogLevel, message: str, at: datetime | None = None) -> None:
        self.stamps[message] = (at, datetime.now(UTC))
        if message == "out 1":
            with open(self.ack, "w") as ack:
                ack.write("x")
            self._stderr_arrived.wait(DWELL_SECONDS)
        with self._lock:
            self.entries.append((level, message))
        if message == "err 1":
            self._stderr_arrived.set()


def test_a_stderr_line_written_after_stdout_lines_is_logged_after_them(job_dir):
    ack = job_dir / "ack"
    os.mkfifo(ack)
    ack.chmod(0o666)  # the job may run as another user
    code = f"""
        import sys
        print("out 1", flush=True)
        with open({str(ack)!r}) as ack:
            ack.read(1)  # the runner has read "out 1"
        print("err 1", file=sys.stderr, flush=True)
        print("out 2", flush=True)
        print("err 2", file=sys.stderr, flush=True)
    """
    log = SlowOnFirstLineLog(ack)
    outcome = CommandExecutor(ProcessRunner()).execute(command(python(code), {}), log, StopSignal())
    assert outcome == Outcome(0)
    order = [message for _, message in log.entries]
    # "err 1" was written after the runner read "out 1", so it is logged after it. ("out 2"
    # may come before or after "err 1": two pipes written one after the other can be read
    # in either order, so that is left open.)
    assert order.index("out 1") < order.index("err 1") < order.index("err 2")
    assert order.index("out 1") < order.index("out 2")
    # Each line carries the time it was read, in the order of the sequence: "err 1" was
    # read while the sink still dwelt on "out 1", so it was read before the sink got it.
    read = [log.stamps[message][0] for _, message in log.entries]
    assert all(at is not None for at in read) and read == sorted(read)  # type: ignore[type-var]
    err_read, err_received = log.stamps["err 1"]
    assert err_read is not None and err_read < err_received
    assert sorted(log.entries) == sorted(
        [
            (LogLevel.Info, "out 1"),
            (LogLevel.Error, "err 1"),
            (LogLevel.Info, "out 2"),
            (LogLevel.Error, "err 2"),
        ]
    )


class Log:
    def __init__(self) -> None:
        self.entries: list[tuple[LogLevel, str]] = []

    def __call__(self, level: LogLevel, message: str, at: datetime | None = None) -> None:
        self.entries.append((level, message))


def test_parameters_too_large_for_the_environment_still_reach_a_command_on_stdin():
    """Linux refuses to start a program with a 128 KiB environment string (E2BIG)."""
    parameters = {"rows": ["r" * 1000 for _ in range(200)], "tenant": "acme"}  # ~200 KiB
    assert len(json.dumps(parameters)) > 3 * MAX_PARAMETERS_VARIABLE_BYTES
    code = """
        import json, os, sys
        received = json.load(sys.stdin)
        print(json.dumps({"rows": len(received["rows"]), "tenant": received["tenant"],
                          "variable": "JOBLEDGER_PARAMETERS" in os.environ}))
    """
    log = Log()
    outcome = CommandExecutor(ProcessRunner()).execute(
        command(python(code), parameters), log, StopSignal()
    )
    assert outcome == Outcome(0), outcome
    warnings = [m for level, m in log.entries if level is LogLevel.Warning]
    assert len(warnings) == 1 and "JOBLEDGER_PARAMETERS is not set" in warnings[0]
    assert "standard input" in warnings[0]
    (line,) = [m for level, m in log.entries if level is LogLevel.Info]
    assert json.loads(line) == {"rows": 200, "tenant": "acme", "variable": False}


def test_parameters_under_the_bound_still_come_in_the_environment_too():
    parameters = {"blob": "b" * (MAX_PARAMETERS_VARIABLE_BYTES - 100)}
    code = """
        import json, os, sys
        print(json.loads(os.environ["JOBLEDGER_PARAMETERS"]) == json.load(sys.stdin))
    """
    log = Log()
    outcome = CommandExecutor(ProcessRunner()).execute(
        command(python(code), parameters), log, StopSignal()
    )
    assert outcome == Outcome(0)
    assert log.entries == [(LogLevel.Info, "True")]
