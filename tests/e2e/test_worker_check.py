"""`jobledger worker --check` as an operator runs it: which job types this machine can run,
and for powershell the pwsh path and version checked; no store is touched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

JOBLEDGER = [sys.executable, "-m", "interfaces.cli.main"]
ROOT = Path(__file__).resolve().parents[2]


def check(tmp_path: Path, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("JOBLEDGER_")}
    # A data directory that does not exist: the check must not create or open a store.
    base["JOBLEDGER_DATA_DIR"] = str(tmp_path / "no-store")
    return subprocess.run(
        [*JOBLEDGER, "worker", "--check", *extra],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def fake_pwsh(directory: Path, version: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "pwsh"
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(0o755)
    return path


def test_without_pwsh_the_check_names_the_missing_requirement_and_exits_1(tmp_path: Path):
    path = f"{tmp_path / 'empty'}{os.pathsep}/usr/bin{os.pathsep}/bin"
    done = check(tmp_path, PATH=path)
    assert done.returncode == 1, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines()[1:]}
    assert sorted(lines) == ["command", "http", "powershell", "python"]
    assert "pwsh not found on PATH; install PowerShell 7.4 or later" in lines["powershell"]
    assert lines["command"].split()[1] == "yes" and lines["powershell"].split()[1] == "no"
    assert not (tmp_path / "no-store").exists()


def test_with_pwsh_the_check_shows_the_path_and_version_and_exits_0(tmp_path: Path):
    pwsh = fake_pwsh(tmp_path / "bin", "7.4.6")
    done = check(tmp_path, "--json", PATH=f"{pwsh.parent}{os.pathsep}/usr/bin{os.pathsep}/bin")
    assert done.returncode == 0, done.stderr
    found = {row["type"]: row for row in json.loads(done.stdout)}
    assert found["powershell"] == {
        "type": "powershell",
        "available": True,
        "checked": f"pwsh 7.4.6 at {pwsh}",
        "reason": None,
    }


def test_the_configured_pwsh_is_the_one_checked(tmp_path: Path):
    pwsh = fake_pwsh(tmp_path / "opt", "7.2.0")
    done = check(tmp_path, JOBLEDGER_PWSH=str(pwsh))
    assert done.returncode == 1
    assert f"pwsh 7.2.0 at {pwsh} is older than 7.4" in done.stdout
