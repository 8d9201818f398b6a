"""The environment a job's process starts with: built on purpose, never inherited whole.

JobLedger's own process holds the master key, the database URL (with its password) and
whatever else its operator exported. A job must see none of it, so the child environment
starts empty and takes only the variables a program needs to behave like it would in a
login shell (where to find programs, the home directory, the locale, the time zone), then
what the job type adds (parameters, secrets).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# Exact names a program may rely on. Windows names are here so the same rule serves there.
ALLOWED = frozenset(
    {
        "PATH",
        "HOME",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "TEMP",
        "TMP",
        "USER",
        "LOGNAME",
        "SHELL",
        "TERM",
        "SYSTEMROOT",
        "SYSTEMDRIVE",
        "WINDIR",
        "COMSPEC",
        "PATHEXT",
        "USERPROFILE",
        "APPDATA",
        "LOCALAPPDATA",
        "PROGRAMDATA",
        "PROGRAMFILES",
        # Outbound proxies: the operator's network settings, honoured by .NET (pwsh), curl and
        # Python alike; a job behind a proxy cannot reach its APIs without them.
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "ALL_PROXY",
        # Set by an operator on a machine without ICU, where .NET (pwsh) does not start without it.
        "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT",
    }
)
# Deliberately not passed: PSModulePath. pwsh then builds its default (the job's private
# HOME's modules, /usr/local/share/powershell/Modules, $PSHOME/Modules), so modules for jobs
# are installed for all users, not picked up from whatever JobLedger's own process inherited.
# Locale categories (LC_ALL, LC_CTYPE, ...) come as a family.
ALLOWED_PREFIXES = ("LC_",)
# Never passed on, whatever a job type asks for: JobLedger's configuration and libpq's.
FORBIDDEN_PREFIXES = ("JOBLEDGER_", "PG")
# Used when the parent has no PATH at all, so `command` can still find the usual programs.
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


def is_allowed(name: str) -> bool:
    """Whether the parent's variable `name` may pass to a job's process."""
    upper = name.upper()
    if upper.startswith(FORBIDDEN_PREFIXES):
        return False
    return upper in ALLOWED or upper.startswith(ALLOWED_PREFIXES)


def child_environment(
    extra: Mapping[str, str] | None = None, parent: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The allowlisted part of `parent` (default: this process) plus `extra` from the job type.

    `extra` may set JOBLEDGER_PARAMETERS and secrets named like anything; it is the job
    type's deliberate choice, unlike the parent's variables.
    """
    source = os.environ if parent is None else parent
    env = {name: value for name, value in source.items() if is_allowed(name)}
    env.setdefault("PATH", DEFAULT_PATH)
    if extra:
        env.update(extra)
    return env
