"""Finding a job's processes from a test: a job runs in a PID namespace of its own, so the pid
it sees (`$$`, `os.getpid()`) is not the test's. A job writes a *mark* instead, its PID
namespace and its pid there, and the test resolves the mark to a pid of its own. Never kill
or signal a job's pid read as a plain number: in the test's namespace it is another process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time


def sh_mark(pid: str = "$$") -> str:
    """A shell word that expands to the mark of `pid` (a pid of the shell's namespace)."""
    return f'"$(readlink /proc/self/ns/pid) {pid}"'


# A Python expression, for job code, that is the mark of the running process.
PY_MARK = "f\"{os.readlink('/proc/self/ns/pid')} {os.getpid()}\""


def host_pid(mark: str) -> int | None:
    """The test's pid for the marked process, or None when no such process is left."""
    namespace, _, pid = mark.strip().rpartition(" ")
    if not namespace or namespace == os.readlink("/proc/self/ns/pid"):
        return int(pid) if _alive(int(pid)) else None
    with os.scandir("/proc") as entries:
        for entry in entries:
            if entry.name.isdigit() and _in(namespace, pid, entry.name):
                return int(entry.name)
    return None


def _in(namespace: str, pid: str, candidate: str) -> bool:
    """Whether `candidate` (our pid) is the running process `pid` of `namespace`."""
    try:
        if os.readlink(f"/proc/{candidate}/ns/pid") != namespace:
            return False
        with open(f"/proc/{candidate}/status") as status:
            nspids = next(line for line in status if line.startswith("NSpid:")).split()
    except (OSError, StopIteration):
        return False
    return nspids[-1] == pid and _alive(int(candidate))


def is_gone(mark: str) -> bool:
    return host_pid(mark) is None


def await_gone(mark: str, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_gone(mark):
            return True
        time.sleep(0.02)
    return False


def kill_quietly(mark: str) -> None:
    pid = host_pid(mark)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Running: not gone, and not a zombie waiting for a parent that will never reap it."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return False
