"""One run's confinement: its private directory, the sandbox's command line, its process group.

Under bwrap the program runs as PID 2 of a PID namespace whose PID 1 is bwrap's own init:
when the program ends, or the init is killed, the kernel kills everything left in the
namespace, daemons that called setsid or double-forked included. bwrap's --new-session puts
init and program in a group of their own (its id is the init's pid, read from --info-fd), so
a stop signals the job and not bwrap: the init ignores SIGTERM (it has no handler, as any
namespace init), the program gets it; SIGKILL kills the init and with it the namespace.

--die-with-parent sets PR_SET_PDEATHSIG: the sandbox is SIGKILLed when the *thread* that
started it exits, not only the process. ProcessRunner waits for the program on the thread
that started it, so that thread outlives the program; keep it that way.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from adapters.executors.run_directories import new_run_directory
from adapters.executors.sandbox import BASE_OPTIONS, SandboxPolicy


class Confinement:
    """What ProcessRunner needs to start one run's program confined, and to clean up after."""

    def __init__(self, policy: SandboxPolicy, readable: Sequence[str] = ()) -> None:
        self.policy = policy
        self.readable = readable
        # Per run, not per job user: a run's HOME and TMPDIR die with it.
        user = policy.user
        self.run_dir = new_run_directory((user.uid, user.gid) if user is not None else None)
        self._info: IO[str] | None = None
        self._info_write: int | None = None
        if policy.sandboxed:
            read, self._info_write = os.pipe()
            self._info = os.fdopen(read)

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        private = {name: str(self.run_dir) for name in ("TMPDIR", "TMP", "TEMP")}
        if self.policy.user is not None:
            # The job user's own home is often absent (nobody's is /nonexistent).
            private |= {"HOME": str(self.run_dir), "USER": self.policy.user.name}
            private["LOGNAME"] = self.policy.user.name
        return {**env, **private}

    def argv(self, argv: Sequence[str], cwd: str | None) -> list[str]:
        if not self.policy.sandboxed:
            return list(argv)
        options = [self.policy.bwrap, *BASE_OPTIONS, "--info-fd", str(self._info_write)]
        user = self.policy.user
        if user is not None and user.uid != 0:
            options += _exposed(_runtime_paths(self.readable), user.uid, user.gid)
        for path in self.policy.hidden:
            options += _hide(path)
        runs = str(self.run_dir.parent)
        # Other runs' directories vanish; this run's own comes back.
        options += ["--tmpfs", runs, "--bind", str(self.run_dir), str(self.run_dir)]
        if cwd is not None:
            options += ["--chdir", cwd]
        options.append("--")
        if user is not None:
            options += [self.policy.setpriv, f"--reuid={user.uid}", f"--regid={user.gid}"]
            options += ["--clear-groups", "--no-new-privs", "--"]
        # bwrap exports PWD, which JobLedger never passes on: the job's environment is built.
        return [*options, self.policy.env, "-u", "PWD", "--", *argv]

    def popen_options(self) -> dict[str, Any]:
        """Extra Popen arguments: the info pipe under bwrap, the user switch without it."""
        if self._info_write is not None:
            return {"pass_fds": (self._info_write,)}
        if self.policy.user is not None:
            return {"user": self.policy.user.uid, "group": self.policy.user.gid, "extra_groups": []}
        return {}

    def process_group(self, pid: int) -> int:
        """The group to signal: the sandbox's (its init's pid, as bwrap reports it), else pid's."""
        self._close_info_write()
        if self._info is None:
            return pid
        with self._info as info:
            text = info.read()  # "" when bwrap failed before its sandbox existed
        with contextlib.suppress(ValueError, KeyError, TypeError):
            return int(json.loads(text)["child-pid"])
        return pid

    def exit_status(self, returncode: int) -> int:
        """bwrap reports its program's death by signal N as 128+N, as a shell does."""
        if self.policy.sandboxed and returncode > 128:
            with contextlib.suppress(ValueError):
                return -signal.Signals(returncode - 128)
        return returncode

    def close(self) -> None:
        self._close_info_write()
        if self._info is not None:
            self._info.close()
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def _close_info_write(self) -> None:
        if self._info_write is not None:
            os.close(self._info_write)
            self._info_write = None


def _runtime_paths(readable: Iterable[str]) -> list[str]:
    """What a job may read even where its user could not: this Python, and `readable`."""
    interpreter = os.path.dirname(os.path.realpath(sys.executable))
    paths = {sys.base_prefix, sys.prefix, sys.exec_prefix, interpreter, *readable}
    # Absolute: a relative entry (PYTHONPATH=src) would be read against bwrap's own root.
    return sorted({os.path.abspath(path) for path in paths if path and os.path.exists(path)})


def _exposed(paths: Iterable[str], uid: int, gid: int) -> list[str]:
    """Bind each path read-only; first put an empty tmpfs over a directory the job user
    cannot search on its way (e.g. /root, 0700, over a pyenv Python), hiding the rest of it.
    """
    tops: set[Path] = set()
    dirs: set[Path] = set()
    binds: list[str] = []
    for path in map(Path, paths):
        closed = _first_closed_ancestor(path, uid, gid)
        if closed is None:
            continue
        tops.add(closed)
        # bwrap would create the directories between with mode 0700: make them searchable.
        dirs.update(p for p in path.parents if closed in p.parents)
        binds += ["--ro-bind", str(path), str(path)]
    options = [arg for top in sorted(tops) for arg in ("--tmpfs", str(top))]
    for directory in sorted(dirs):
        options += ["--perms", "0755", "--dir", str(directory)]
    return options + binds


def _first_closed_ancestor(path: Path, uid: int, gid: int) -> Path | None:
    for ancestor in reversed(path.parents):
        try:
            status = ancestor.stat()
        except OSError:
            return None
        if status.st_uid == uid:
            bit = 0o100
        elif status.st_gid == gid:
            bit = 0o010
        else:
            bit = 0o001
        if not status.st_mode & bit:
            return ancestor
    return None


def _hide(path: Path) -> list[str]:
    if path.is_dir():
        return ["--tmpfs", str(path)]
    # A file (and SQLite's companions): a read-only, no-device /dev/null cannot be opened.
    names = [path, *(Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", "-journal"))]
    return [
        arg for name in names if name.is_file() for arg in ("--ro-bind", "/dev/null", str(name))
    ]
