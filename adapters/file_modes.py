"""Owner-only files for the embedded store: the data directory 0700, the SQLite files 0600.

The SQLite database holds every event (secret ciphertexts, parameters, logs) and the token
hashes. SQLite creates its -wal and -shm files with the main file's mode, so the main file
is created 0600 before anything opens it; modes are set explicitly, whatever the umask, and
an existing store's modes are put right at each start (a store made by an older version may
be world-readable).
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

log = logging.getLogger("jobledger.store")

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
# The files SQLite keeps beside the database.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_directory(path: Path) -> None:
    """Create `path` (and its parents) if missing, and make it owner-only."""
    path.mkdir(parents=True, exist_ok=True, mode=DIRECTORY_MODE)
    _restrict(path, DIRECTORY_MODE)


def private_sqlite_file(path: Path) -> None:
    """Create the database file 0600 if missing, and make it and its companions 0600.

    A directory made here for it is owner-only too; an existing one (the working directory,
    a shared folder the user chose) keeps its mode."""
    if not path.parent.exists():
        private_directory(path.parent)
    # An empty file is an empty SQLite database. Only a missing file is opened here: closing
    # any descriptor of a file drops every POSIX lock this process holds on it, SQLite's
    # included, and another process could then corrupt the database under our connections.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for file in (path, *(path.with_name(path.name + tail) for tail in SQLITE_COMPANIONS)):
        with contextlib.suppress(FileNotFoundError):
            _restrict(file, FILE_MODE)


def _restrict(path: Path, mode: int) -> None:
    if path.stat().st_mode & 0o777 == mode:
        return
    try:
        os.chmod(path, mode)
    except PermissionError:
        # Someone else's file that we may use but not change: say so, and go on.
        log.warning("cannot make %s owner-only (mode %04o): not its owner", path, mode)
