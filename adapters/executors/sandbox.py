"""Where job processes run: the sandbox policy, read once from JobLedger's environment.

Executors are built with no arguments (the plugin API), and adapters never import
`interfaces/`, so the few settings the sandbox needs are read here, straight from the
environment: JOBLEDGER_SANDBOX (auto, bwrap or none), JOBLEDGER_JOB_USER, and the paths a job
must not see (the data directory, a master key file, a SQLite store outside it).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import pwd
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from adapters.event_store_config import parse_database_url

logger = logging.getLogger("jobledger.executors")
MODES = ("auto", "bwrap", "none")
# The user jobs run as when JobLedger runs as root and the operator named none: never root.
DEFAULT_JOB_USER = "nobody"
# interfaces/settings.py's default: repeated here because adapters may not import interfaces.
DEFAULT_DATA_DIR = "./jobledger-data"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class SandboxUnavailable(RuntimeError):
    """The configured sandbox cannot be used here; the message says why and what to set."""


@dataclass(frozen=True)
class JobUser:
    """The account a job's processes run as: a name for messages, the ids for the kernel."""

    name: str
    uid: int
    gid: int


@dataclass(frozen=True)
class SandboxPolicy:
    """How every job process is started: in a bwrap sandbox or not, as whom, hiding what.

    `user` None means the job runs as JobLedger's own user (no switch). `bwrap` and `setpriv`
    are absolute paths, resolved once, so a job's PATH cannot choose them.
    """

    mode: str  # "bwrap" or "none": "auto" is resolved when the policy is made
    user: JobUser | None
    hidden: tuple[Path, ...] = ()
    bwrap: str = "bwrap"
    setpriv: str = "setpriv"
    env: str = "env"

    @property
    def sandboxed(self) -> bool:
        return self.mode == "bwrap"

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> SandboxPolicy:
        env = os.environ if env is None else env
        mode = (env.get("JOBLEDGER_SANDBOX") or "auto").strip().lower()
        if mode not in MODES:
            raise SandboxUnavailable(f"JOBLEDGER_SANDBOX must be auto, bwrap or none, not {mode!r}")
        user = job_user(env.get("JOBLEDGER_JOB_USER", "").strip())
        bwrap, setpriv = _tool("bwrap"), _tool("setpriv")
        # setpriv drops to the job user inside the sandbox, after bwrap (as root) has mounted.
        usable = (
            mode != "none"
            and bool(bwrap)
            and (user is None or bool(setpriv))
            and _bwrap_works(bwrap)
        )
        if mode == "bwrap" and not usable:
            missing = "setpriv" if bwrap and not setpriv and user else "bwrap (bubblewrap)"
            raise SandboxUnavailable(
                f"JOBLEDGER_SANDBOX=bwrap but {missing} is not usable here "
                "(installed? PID and mount namespaces allowed?)"
            )
        resolved = "bwrap" if usable else "none"
        if resolved == "none":
            _warn_reduced_containment(mode)
        tools = (bwrap or "bwrap", setpriv or "setpriv", _tool("env") or "/usr/bin/env")
        return cls(resolved, user, _hidden_paths(env), *tools)


def _tool(name: str) -> str:
    """A program's absolute path: on JobLedger's PATH, else where Debian and others put it."""
    return shutil.which(name) or shutil.which(name, path=SYSTEM_PATH) or ""


def job_user(name: str) -> JobUser | None:
    """The configured job user; by default `nobody` under root, else no switch at all."""
    running_as_root = os.geteuid() == 0
    if not name:
        if not running_as_root:
            return None
        name = DEFAULT_JOB_USER
    try:
        entry = pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
    except (KeyError, ValueError):
        raise SandboxUnavailable(f"JOBLEDGER_JOB_USER: no user {name!r} on this machine") from None
    if entry.pw_uid == os.geteuid():
        return None  # already that user: nothing to switch
    if not running_as_root:
        raise SandboxUnavailable(
            f"JOBLEDGER_JOB_USER={name} needs JobLedger to run as root to switch users"
        )
    return JobUser(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _hidden_paths(env: Mapping[str, str]) -> tuple[Path, ...]:
    """JobLedger's own files: the data directory, a key file, a SQLite store elsewhere."""
    paths = [Path(env.get("JOBLEDGER_DATA_DIR") or DEFAULT_DATA_DIR)]
    key = (env.get("JOBLEDGER_MASTER_KEY") or "").strip()
    for prefix in ("file://", "file:"):
        if key.startswith(prefix):
            key = key[len(prefix) :]
            break
    # Only a name that is an existing file is a path: the key itself never reaches argv.
    with contextlib.suppress(OSError, ValueError):
        if key and Path(key).is_file():
            paths.append(Path(key))
    url = env.get("JOBLEDGER_DATABASE_URL") or ""
    with contextlib.suppress(Exception):  # a bad URL is the composition root's to report
        store = parse_database_url(url) if url.startswith("sqlite:") else None
        if store is not None and store.sqlite_path is not None:
            paths.append(store.sqlite_path)
    return tuple(dict.fromkeys(path.absolute() for path in paths))


@functools.cache
def _bwrap_works(bwrap: str) -> bool:
    """Try once per process: a container may forbid the namespaces bwrap needs."""
    argv = [bwrap, *BASE_OPTIONS, "--", "true"]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        probe = subprocess.run(argv, capture_output=True, timeout=10, check=False)
        if probe.returncode == 0:
            return True
        logger.debug("bwrap probe failed: %s", probe.stderr.decode(errors="replace").strip())
    return False


@functools.cache
def _warn_reduced_containment(mode: str) -> None:
    why = "JOBLEDGER_SANDBOX=none" if mode == "none" else "bwrap or namespaces are unavailable"
    logger.warning(
        "job containment is reduced (%s): jobs run without a PID namespace, so a daemon "
        "a job starts with setsid can outlive its run or its worker, and jobs can read each "
        "other's /proc/*/environ when they run as the same user",
        why,
    )


# Every sandbox: a PID namespace (its own /proc; the kernel kills what is left in it when
# its init ends), its own IPC namespace and /dev/shm (world-writable, as multiprocessing's
# semaphores need), a new session (so the program's group is not bwrap's and a stop signals
# only the job), and death with its parent (the worker thread).
BASE_OPTIONS = (
    "--bind", "/", "/",
    "--dev", "/dev",
    "--perms", "1777", "--tmpfs", "/dev/shm",
    "--proc", "/proc",
    "--unshare-pid",
    "--unshare-ipc",
    "--new-session",
    "--die-with-parent",
)  # fmt: skip
