"""Whether this machine has PowerShell 7.4 or later, and where: the `powershell` job type's
requirement, probed by each worker at start and printed by `jobledger worker --check`.

The pwsh checked is the one the executor runs: `JOBLEDGER_PWSH` (a path) when set, else
`pwsh` on PATH. The probe asks it for `$PSVersionTable.PSVersion` with the executor's own
flags, in a built environment (never JobLedger's: it holds the master key), with a timeout:
a first start of .NET can take seconds, a broken install can hang.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping

from adapters.executors.environment import child_environment
from jobtypes import Availability

MIN_VERSION = (7, 4)
PWSH_ENV = "JOBLEDGER_PWSH"
VERSION_COMMAND = "$PSVersionTable.PSVersion.ToString()"
PROBE_TIMEOUT_SECONDS = 20.0
INSTALL = "install PowerShell 7.4 or later, or set JOBLEDGER_PWSH to its path"
_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?\S*$")

# Runs argv and returns its standard output; raises OSError, TimeoutExpired or
# CalledProcessError as subprocess.run does (tests pass a fake).
AskVersion = Callable[[list[str], float], str]


def _ask_version(argv: list[str], timeout: float) -> str:
    env = child_environment({"POWERSHELL_TELEMETRY_OPTOUT": "1", "POWERSHELL_UPDATECHECK": "Off"})
    done = subprocess.run(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return done.stdout


def pwsh_executable(env: Mapping[str, str] | None = None) -> str:
    """The pwsh the executor runs: `JOBLEDGER_PWSH` if set, else `pwsh` found on PATH."""
    env = os.environ if env is None else env
    return env.get(PWSH_ENV) or "pwsh"


def parse_version(text: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of "7.4.6" or "7.5.0-preview.3"; None if it is no version."""
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def probe_pwsh(
    env: Mapping[str, str] | None = None,
    *,
    ask: AskVersion = _ask_version,
    timeout: float = PROBE_TIMEOUT_SECONDS,
) -> Availability:
    """Whether the configured pwsh (or the one on PATH) is 7.4 or later, and which it is."""
    env = os.environ if env is None else env
    configured = env.get(PWSH_ENV)
    if configured:
        path = configured
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return Availability(
                False,
                reason=f"{PWSH_ENV}={path} is not an executable file; point it at pwsh 7.4+",
                detail=f"checked {path} ({PWSH_ENV})",
            )
    else:
        found = shutil.which("pwsh", path=env.get("PATH"))
        if found is None:
            return Availability(
                False, reason=f"pwsh not found on PATH; {INSTALL}", detail="looked for pwsh on PATH"
            )
        path = found
    argv = [path, "-NoLogo", "-NoProfile", "-NonInteractive", "-Command", VERSION_COMMAND]
    checked = f"checked {path}"
    try:
        text = ask(argv, timeout).strip()
    except subprocess.TimeoutExpired:
        why = f"pwsh at {path} did not report its version within {timeout:g} s"
        return Availability(False, reason=why, detail=checked)
    except subprocess.CalledProcessError as error:
        why = f"pwsh at {path} failed to report its version (exit code {error.returncode})"
        return Availability(False, reason=why, detail=checked)
    except OSError as error:
        why = f"pwsh at {path} could not be started: {error.strerror or error}"
        return Availability(False, reason=why, detail=checked)
    version = parse_version(text)
    if version is None:
        why = f"pwsh at {path} reported no version ({text[:60]!r})"
        return Availability(False, reason=why, detail=checked)
    if version[:2] < MIN_VERSION:
        why = f"pwsh {text} at {path} is older than 7.4; {INSTALL}"
        return Availability(False, reason=why, detail=f"pwsh {text} at {path}")
    return Availability(True, detail=f"pwsh {text} at {path}")
