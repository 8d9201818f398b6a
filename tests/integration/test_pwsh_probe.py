"""The `powershell` type's requirement, probed against real programs: a stand-in `pwsh` (a
shell script that answers the version query as pwsh would) on PATH or at JOBLEDGER_PWSH."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters.executors.powershell import POWERSHELL
from adapters.executors.pwsh_probe import parse_version, probe_pwsh, pwsh_executable

VERSION_QUERY = "$PSVersionTable.PSVersion.ToString()"


def fake_pwsh(directory: Path, body: str, name: str = "pwsh") -> Path:
    """An executable that checks it was asked for the version as the executor runs pwsh."""
    path = directory / name
    path.write_text(
        "#!/bin/sh\n"
        '[ "$1 $2 $3 $4" = "-NoLogo -NoProfile -NonInteractive -Command" ] || exit 64\n'
        f"[ \"$5\" = '{VERSION_QUERY}' ] || exit 65\n"
        f"{body}\n"
    )
    path.chmod(0o755)
    return path


def test_pwsh_74_on_path_is_available_and_says_which_it_found(tmp_path: Path) -> None:
    path = fake_pwsh(tmp_path, "echo 7.4.6")
    found = probe_pwsh({"PATH": str(tmp_path)})
    assert found.available is True and found.reason is None
    assert found.detail == f"pwsh 7.4.6 at {path}"


def test_a_preview_of_a_later_version_is_available(tmp_path: Path) -> None:
    fake_pwsh(tmp_path, "echo 7.5.0-preview.3")
    assert probe_pwsh({"PATH": str(tmp_path)}).available is True


def test_an_older_pwsh_is_not_enough_and_says_what_to_install(tmp_path: Path) -> None:
    path = fake_pwsh(tmp_path, "echo 7.2.19")
    found = probe_pwsh({"PATH": str(tmp_path)})
    assert found.available is False
    assert found.reason == (
        f"pwsh 7.2.19 at {path} is older than 7.4; install PowerShell 7.4 or later, "
        "or set JOBLEDGER_PWSH to its path"
    )


def test_no_pwsh_on_path_is_the_reason(tmp_path: Path) -> None:
    found = probe_pwsh({"PATH": str(tmp_path)})
    assert found.available is False
    assert found.reason is not None and found.reason.startswith("pwsh not found on PATH; ")
    assert found.detail == "looked for pwsh on PATH"


def test_a_configured_path_wins_over_path(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    fake_pwsh(tmp_path / "bin", "echo 7.2.0")
    configured = fake_pwsh(tmp_path, "echo 7.4.1", name="my-pwsh")
    env = {"PATH": str(tmp_path / "bin"), "JOBLEDGER_PWSH": str(configured)}
    found = probe_pwsh(env)
    assert found.available is True and found.detail == f"pwsh 7.4.1 at {configured}"
    assert pwsh_executable(env) == str(configured)  # what the executor runs


def test_a_configured_path_that_is_not_executable_is_the_reason(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "pwsh"
    found = probe_pwsh({"PATH": "", "JOBLEDGER_PWSH": str(missing)})
    assert found.available is False
    assert (
        found.reason == f"JOBLEDGER_PWSH={missing} is not an executable file; point it at pwsh 7.4+"
    )


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("exit 3", "failed to report its version (exit code 3)"),
        ("echo 'Welcome to PowerShell'", "reported no version ('Welcome to PowerShell')"),
        ("exec sleep 30", "did not report its version within 0.5 s"),
    ],
)
def test_a_pwsh_that_misbehaves_is_not_available(tmp_path: Path, body: str, why: str) -> None:
    path = fake_pwsh(tmp_path, body)
    found = probe_pwsh({"PATH": str(tmp_path)}, timeout=0.5)
    assert found.available is False and found.reason == f"pwsh at {path} {why}"


def test_the_probe_gives_pwsh_none_of_jobledgers_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = tmp_path / "env"
    fake_pwsh(tmp_path, f'env > "{seen}"; echo 7.4.0')
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("JOBLEDGER_MASTER_KEY", "never-for-pwsh")
    assert POWERSHELL.check().available is True  # the job type's own hook
    env = seen.read_text()
    assert "never-for-pwsh" not in env and "JOBLEDGER_" not in env
    assert "POWERSHELL_TELEMETRY_OPTOUT=1" in env


def test_versions_are_read_as_pwsh_prints_them() -> None:
    assert parse_version("7.4.6\n") == (7, 4, 6)
    assert parse_version("7.5.0-rc.1") == (7, 5, 0)
    assert parse_version("10.0") == (10, 0, 0)
    assert parse_version("") is None and parse_version("seven") is None
