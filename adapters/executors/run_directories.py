"""Each run's private directory (its HOME and TMPDIR), under one parent per JobLedger process.

The parent is searchable but not listable (0711), so a job cannot list other runs' directories
(and in the sandbox it does not see them at all). A process that is SIGKILLed cannot remove
its parent; it holds an flock on a file inside for as long as it lives, so the next process
to start removes parents whose lock nobody holds any more.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import functools
import os
import shutil
import stat
import tempfile
from pathlib import Path

PREFIX = "jobledger-runs-"
LOCK = ".alive"
# The lock file of this process's parent: open (and locked) until the process ends.
_held: list[int] = []


def new_run_directory(owner: tuple[int, int] | None) -> Path:
    """A fresh directory for one run, owned by (uid, gid) when the job runs as another user."""
    path = Path(tempfile.mkdtemp(prefix="run-", dir=_parent()))
    if owner is not None:
        os.chown(path, *owner)
    return path


@functools.cache
def _parent() -> str:
    _remove_abandoned()
    parent = tempfile.mkdtemp(prefix=PREFIX)
    os.chmod(parent, 0o711)
    # Locked before it has its name: a sweeper never finds the file unlocked while we live.
    fd, temporary = tempfile.mkstemp(dir=parent)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.rename(temporary, os.path.join(parent, LOCK))
    _held.append(fd)
    atexit.register(shutil.rmtree, parent, True)
    return parent


def _remove_abandoned() -> None:
    """Remove the parents of processes that died without cleaning up (SIGKILL, power loss)."""
    for path in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        with contextlib.suppress(OSError):
            status = path.lstat()
            # Ours only, and a real directory: jobs can write to /tmp too.
            if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.geteuid():
                continue
            fd = os.open(path / LOCK, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its process is alive
            finally:
                os.close(fd)
            shutil.rmtree(path, ignore_errors=True)
