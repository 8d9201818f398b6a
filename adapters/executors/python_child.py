"""The child process of a `python` job: imports the callable and calls it with a context.

Started as `python -m adapters.executors.python_child` with a clean environment; everything
it needs (callable, parameters, secrets, log threshold) arrives as one JSON document on
stdin, never in argv. Log entries go to stdout as record lines (see adapters.executors.lines);
print() output is passed on whole lines only, so it can never split a record line.
"""

from __future__ import annotations

import importlib
import inspect
import io
import json
import sys
import threading
import traceback
from typing import Any, TextIO

from adapters.executors.lines import record_line
from domain.log_level import LogLevel

# Exit codes the parent reports as such: the callable raised, or could not be loaded.
EXIT_RAISED = 1
EXIT_NOT_LOADED = 2


class _Channel:
    """The real stdout, shared by the logger and print() under one lock: whole lines only."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def write_lines(self, text: str) -> None:
        with self._lock:
            self._stream.write(text)
            self._stream.flush()


class _LineWriter(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr: buffers a partial line until its newline."""

    def __init__(self, channel: _Channel) -> None:
        self._channel = channel
        self._partial = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self._partial += text
            whole, newline, self._partial = self._partial.rpartition("\n")
        if newline:
            self._channel.write_lines(whole + "\n")
        return len(text)

    def flush(self) -> None:
        with self._lock:
            rest, self._partial = self._partial, ""
        if rest:
            self._channel.write_lines(rest + "\n")


class JobLog:
    """A leveled logger for the job's callable.

    Entries below the job's threshold are skipped here only to spare the pipe and the
    parsing: an optimisation. The worker's log sink applies the threshold itself, and counts
    what it discards, whatever a child sends (entries skipped here are not in that count).
    """

    def __init__(self, channel: _Channel, threshold: LogLevel) -> None:
        self._channel = channel
        self.threshold = threshold

    def log(self, level: LogLevel, message: object) -> None:
        if self.threshold.admits(level):
            self._channel.write_lines(record_line(level, str(message)) + "\n")

    def verbose(self, message: object) -> None:
        self.log(LogLevel.Verbose, message)

    def debug(self, message: object) -> None:
        self.log(LogLevel.Debug, message)

    def info(self, message: object) -> None:
        self.log(LogLevel.Info, message)

    def warning(self, message: object) -> None:
        self.log(LogLevel.Warning, message)

    def error(self, message: object) -> None:
        self.log(LogLevel.Error, message)


class JobContext:
    """What the callable receives: the run's parameters, its secrets and a leveled logger."""

    def __init__(self, document: dict[str, Any], log: JobLog) -> None:
        self.parameters: dict[str, Any] = document["parameters"]
        self.secrets: dict[str, str] = document["secrets"]
        self.run_id: str = document["run_id"]
        self.job_id: str = document["job_id"]
        self.job_name: str = document["job_name"]
        self.attempt: int = document["attempt"]
        self.log = log
        # The logger's methods on the context itself: context.info("...") reads well.
        self.verbose, self.debug, self.info = log.verbose, log.debug, log.info
        self.warning, self.error = log.warning, log.error

    def __repr__(self) -> str:  # never the secrets' values
        return f"JobContext(job_name={self.job_name!r}, secrets={sorted(self.secrets)!r})"


def _load(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    found: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        found = getattr(found, part)
    if not callable(found):
        raise TypeError(f"{target} is not callable")
    return found


def _user_traceback(error: BaseException) -> str:
    """The traceback from the user's code down, without this module's frames."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_globals.get("__name__") == __name__:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb)).rstrip()


def main() -> int:
    document = json.loads(sys.stdin.read())
    channel = _Channel(sys.stdout)
    log = JobLog(channel, LogLevel.parse(document["log_level"]))
    sys.stdout = _LineWriter(channel)  # type: ignore[assignment]
    sys.stderr = _LineWriter(_Channel(sys.stderr))  # type: ignore[assignment]
    for entry in reversed(document.get("sys_path", [])):
        if entry and entry not in sys.path:
            sys.path.insert(0, entry)
    try:
        try:
            function = _load(document["callable"])
        except Exception as error:
            log.error(f"cannot load {document['callable']!r}: {type(error).__name__}: {error}")
            return EXIT_NOT_LOADED
        try:
            result = function(JobContext(document, log))
            if inspect.isawaitable(result):
                _run_coroutine(result)
        except Exception as error:
            log.error(_user_traceback(error))
            return EXIT_RAISED
        return 0
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _run_coroutine(awaitable: Any) -> None:
    # Imported only for coroutine jobs: asyncio costs a child ~35 ms to import.
    import asyncio

    asyncio.run(_awaited(awaitable))


if __name__ == "__main__":
    sys.exit(main())
