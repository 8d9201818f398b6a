"""Runs one child process for a job: confined, leveled output, a clean stop.

Every job type that starts a program goes through `ProcessRunner`, so the rules hold for
all of them: the program runs in the sandbox the policy names (adapters.executors.sandbox:
a PID namespace of its own, as the job user), a timeout or cancel signals its process group
(SIGTERM, then SIGKILL after a grace period), and when it ends nothing it started outlives
it; stdout and stderr are read line by line on their own threads into one queue, in the
order the lines were read, and one thread sends them to the log from there, so a line written
to stderr after stdout lines is logged after them; the outcome names the exit code or signal
and the last error lines. Every line goes to the log sink whatever its level: the sink
applies the run's threshold (and counts what it discards), not the runner.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO

from adapters.executors.confinement import Confinement
from adapters.executors.lines import CUT_NOTE, STDERR, STDOUT, LineParser, parse_prefixed
from adapters.executors.sandbox import SandboxPolicy
from domain.log_level import LogLevel
from jobtypes import LogSink, Outcome, StopSignal

logger = logging.getLogger("jobledger.executors")
# A line longer than this is cut into pieces rather than held whole in memory.
MAX_LINE_BYTES = 64 * 1024
# The outcome's error text: the last error lines, bounded so a noisy failure stays readable.
ERROR_TAIL_LINES = 10
ERROR_TAIL_CHARS = 2000
# Lines read but not yet logged: a bound, so a program outrunning a slow log sink blocks on
# its full pipe (as it would without the queue) instead of filling the worker's memory.
MAX_QUEUED_LINES = 256
# (stream, the line or None at the end of the stream, when it was read)
Lines = queue.Queue[tuple[str, bytes | None, datetime]]
# How often the waiting thread looks at the stop signal while the child runs.
STOP_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class ProcessSpec:
    """What to start: argv (no shell), its environment, its stdin and working directory."""

    argv: Sequence[str]
    env: Mapping[str, str] = field(repr=False)
    stdin: bytes = field(default=b"", repr=False)
    cwd: str | None = None
    # Paths the program must read even where the job user could not (bound read-only).
    readable: Sequence[str] = ()


class _ErrorTail:
    """The last few Error-level lines, for the outcome of a failed run."""

    def __init__(self) -> None:
        self._lines: deque[str] = deque(maxlen=ERROR_TAIL_LINES)
        self._lock = threading.Lock()

    def add(self, message: str) -> None:
        with self._lock:
            self._lines.extend(line for line in message.splitlines() if line.strip())

    def text(self) -> str:
        with self._lock:
            text = "\n".join(self._lines)
        if len(text) <= ERROR_TAIL_CHARS:
            return text
        # Whole lines only: the worker masks secrets by their whole value, and a line cut in
        # two could show the part of a secret left after the cut.
        tail = text[-ERROR_TAIL_CHARS:]
        newline = tail.find("\n")
        if newline < 0:
            return f"… (the last error line is over {ERROR_TAIL_CHARS} characters: see the log)"
        return "…" + tail[newline + 1 :]


class ProcessRunner:
    """Starts a program, streams its output to a LogSink, stops its tree when told to."""

    def __init__(self, grace_seconds: float = 5.0, sandbox: SandboxPolicy | None = None) -> None:
        self.grace_seconds = grace_seconds
        self.sandbox = sandbox or SandboxPolicy.from_environment()

    def run(
        self,
        spec: ProcessSpec,
        log: LogSink,
        stop: StopSignal,
        parse: LineParser = parse_prefixed,
    ) -> Outcome:
        problem = _cannot_start(spec)
        if problem is not None:
            return Outcome(None, problem)
        if stop.is_set():  # stopped while it waited for a thread: nothing to start or kill
            return Outcome(None, f"stopped ({stop.reason}) before it started")
        confinement = Confinement(self.sandbox, spec.readable)
        try:
            return self._run(spec, confinement, log, stop, parse)
        finally:
            confinement.close()

    def _run(
        self,
        spec: ProcessSpec,
        confinement: Confinement,
        log: LogSink,
        stop: StopSignal,
        parse: LineParser,
    ) -> Outcome:
        try:
            child = subprocess.Popen(
                confinement.argv(spec.argv, spec.cwd),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=confinement.environment(dict(spec.env)),
                cwd=spec.cwd,
                start_new_session=True,
                close_fds=True,
                **confinement.popen_options(),
            )
        except OSError as error:
            return Outcome(None, _start_error(spec, error))
        group = confinement.process_group(child.pid)
        tail = _ErrorTail()
        lines: Lines = queue.Queue(MAX_QUEUED_LINES)
        read_lock = threading.Lock()
        threads = [
            _thread(_feed, child.stdin, spec.stdin),
            _thread(_read, child.stdout, STDOUT, lines, read_lock),
            _thread(_read, child.stderr, STDERR, lines, read_lock),
            _thread(_deliver, lines, parse, log, tail),
        ]
        stopped_by = self._wait(child, group, stop)
        self._reap_group(group, threads)
        for thread in threads:
            thread.join(self.grace_seconds)
        if any(thread.is_alive() for thread in threads):
            # Only a process that left our group (setsid) can still hold the pipes open.
            log(LogLevel.Warning, "output left open by a process outside the job's group")
        return _outcome(confinement.exit_status(child.returncode), stopped_by, tail)

    def _wait(self, child: subprocess.Popen[bytes], group: int, stop: StopSignal) -> str | None:
        """Wait for the main process; on stop, SIGTERM its group, then SIGKILL after grace."""
        kill_at: float | None = None
        while True:
            try:
                # Popen.wait polls with growing sleeps from 0.5 ms, so quick programs end quickly.
                child.wait(timeout=STOP_POLL_SECONDS)
                return stop.reason if stop.is_set() and kill_at is not None else None
            except subprocess.TimeoutExpired:
                pass
            if stop.is_set() and kill_at is None:
                _signal_group(group, signal.SIGTERM)
                kill_at = time.monotonic() + self.grace_seconds
            elif kill_at is not None and time.monotonic() >= kill_at:
                _signal_group(group, signal.SIGKILL)

    def _reap_group(self, pgid: int, threads: list[threading.Thread]) -> None:
        """Kill what the program left behind: its group outlives it only by a grace period.

        A lingering child may hold stdout open; the readers end when it dies. In a sandbox
        the kernel has already killed everything, daemons too, when the namespace's init ended.
        """
        if not _signal_group(pgid, signal.SIGTERM):
            return
        deadline = time.monotonic() + self.grace_seconds
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        _signal_group(pgid, signal.SIGKILL)


def _thread(target: Callable[..., None], *args: object) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def _feed(pipe: IO[bytes], data: bytes) -> None:
    """Write stdin on its own thread: a child that never reads it must not block the run."""
    try:
        if data:
            pipe.write(data)
    except (BrokenPipeError, OSError):
        pass  # the program exited or closed stdin without reading it: its choice
    finally:
        with contextlib.suppress(OSError):
            pipe.close()


def _read(pipe: IO[bytes], stream: str, lines: Lines, lock: threading.Lock) -> None:
    """Queue each line as soon as it is read, stamped with the time it was read. The two
    readers stamp and put under one lock, so the queue's order is the order of the stamps:
    the log's sequence and its times agree, whatever the deliverer is busy with."""
    try:
        with pipe:
            for raw in iter(lambda: pipe.readline(MAX_LINE_BYTES), b""):
                with lock:
                    lines.put((stream, raw, datetime.now(UTC)))
    finally:
        # Whatever ended the reading, the deliverer must not wait.
        lines.put((stream, None, datetime.now(UTC)))


def _deliver(lines: Lines, parse: LineParser, log: LogSink, tail: _ErrorTail) -> None:
    """The one thread that logs a run's output: both streams, in the order they were read."""
    open_streams = {STDOUT, STDERR}
    rest_of_long_line = {STDOUT: False, STDERR: False}
    while open_streams:
        stream, raw, read_at = lines.get()
        if raw is None:
            open_streams.discard(stream)
            continue
        cut = not raw.endswith(b"\n")
        if rest_of_long_line[stream]:
            # Dropped, not logged as lines of their own: a secret across the cut would
            # be masked in neither piece (the log keeps 16 KiB of a message anyway).
            rest_of_long_line[stream] = cut
            continue
        rest_of_long_line[stream] = cut and len(raw) >= MAX_LINE_BYTES
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if rest_of_long_line[stream]:
            line += CUT_NOTE
        try:
            entry = parse(stream, line)
            if entry is None:
                continue
            level, message = entry
            if level is LogLevel.Error:
                tail.add(message)
            log(level, message, read_at)
        except Exception:
            # Keep draining: a deliverer that stops would block the program on a full pipe.
            logger.exception("logging a %s line failed; line dropped", stream)


def _signal_group(pgid: int, signum: int) -> bool:
    """Signal every process in the group; False when none is left."""
    try:
        os.killpg(pgid, signum)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        # A member changed its credentials (setuid); the rest were still signalled.
        return True


def _cannot_start(spec: ProcessSpec) -> str | None:
    """Say what is wrong before trying, so the run's error names it plainly."""
    if not spec.argv:
        return "cannot start: the program has no argv"
    program = spec.argv[0]
    # Looked up here, not only by exec: in a sandbox exec happens inside, out of sight.
    if "/" not in program and shutil.which(program, path=spec.env.get("PATH")) is None:
        return f"cannot start {program!r}: no such executable (looked in the job's PATH)"
    if spec.cwd is not None and not os.path.isdir(spec.cwd):
        return f"cannot start {spec.argv[0]!r}: working directory {spec.cwd!r} does not exist"
    return None


def _start_error(spec: ProcessSpec, error: OSError) -> str:
    program = spec.argv[0]
    if isinstance(error, FileNotFoundError):
        if spec.cwd is not None and error.filename == spec.cwd:
            return f"cannot start {program!r}: working directory {spec.cwd!r} does not exist"
        return f"cannot start {program!r}: no such executable (looked in the job's PATH)"
    if isinstance(error, PermissionError):
        return f"cannot start {program!r}: permission denied (is it executable?)"
    return f"cannot start {program!r}: {error.strerror or error}"


def _outcome(returncode: int, stopped_by: str | None, tail: _ErrorTail) -> Outcome:
    errors = tail.text()
    if returncode == 0 and stopped_by is None:
        return Outcome(0)
    if returncode < 0:
        name = _signal_name(-returncode)
        cause = f"stopped ({stopped_by}): killed by {name}" if stopped_by else f"killed by {name}"
        return Outcome(returncode, f"{cause}\n{errors}" if errors else cause)
    if stopped_by is not None:
        cause = f"stopped ({stopped_by}): exited with code {returncode}"
        return Outcome(returncode, f"{cause}\n{errors}" if errors else cause)
    return Outcome(returncode, errors or f"exited with code {returncode}")


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
