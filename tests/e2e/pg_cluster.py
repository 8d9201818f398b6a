"""A PostgreSQL cluster of the test's own, on a port of its own, for tests that stop, restart
or kill the database server. The shared server on 5432 is never touched.

Made with Debian's cluster tools (`pg_createcluster`, `pg_ctlcluster`, `pg_dropcluster`),
as root; trust authentication on 127.0.0.1. A machine without them fails the test that
asked for a cluster: the fault suite must not pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

FIRST_PORT = 5440


def _version() -> str:
    versions = sorted(os.listdir("/etc/postgresql"), key=lambda v: int(v.split(".")[0]))
    return versions[-1]


def _free_port(start: int) -> int:
    for port in range(start, start + 100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port in {start}..{start + 99}")


def tools_missing() -> str | None:
    """Why a cluster cannot be made here, or None."""
    for tool in ("pg_createcluster", "pg_ctlcluster", "pg_dropcluster"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian's postgresql-common)"
    if os.geteuid() != 0:
        return "making a PostgreSQL cluster needs root"
    if not os.path.isdir("/etc/postgresql"):
        return "no PostgreSQL server is installed (/etc/postgresql)"
    return None


@dataclass
class PgCluster:
    """One throwaway cluster: its URL, and the faults a test may inflict on it."""

    name: str
    version: str
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, *args],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        self._ctl("start")
        self.wait_ready()

    def stop(self) -> None:
        """A fast shutdown: every session is terminated by an administrator command."""
        self._ctl("stop", "-m", "fast")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")
        self.wait_ready()

    def postmaster_pid(self) -> int:
        data = Path(f"/var/lib/postgresql/{self.version}/{self.name}/postmaster.pid")
        return int(data.read_text().split()[0])

    def kill_postmaster(self) -> None:
        """SIGKILL of the postmaster, as a crash would do it. Its backends notice and exit;
        a start then runs crash recovery."""
        pid = self.postmaster_pid()
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        # The orphaned backends may hold the shared memory for a moment: wait them out.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            busy = subprocess.run(
                ["pgrep", "-f", f"postgres: {self.version}/{self.name}"], capture_output=True
            )
            if busy.returncode != 0:
                return
            time.sleep(0.1)

    def ensure_running(self) -> None:
        """Start the cluster if a test before left it stopped."""
        try:
            self.wait_ready(timeout=1.0)
        except psycopg.OperationalError:
            self.start()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url, connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def drop(self) -> None:
        subprocess.run(
            ["pg_dropcluster", "--stop", self.version, self.name],
            check=False,
            capture_output=True,
        )


def create_cluster() -> PgCluster:
    """A new cluster on the first free port from 5440, started and accepting connections."""
    version = _version()
    port = _free_port(FIRST_PORT)
    name = f"jl_fault_{os.getpid()}_{port}"
    subprocess.run(
        ["pg_createcluster", version, name, "--port", str(port), "--", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    cluster = PgCluster(name=name, version=version, port=port)
    try:
        cluster.start()
    except BaseException:
        cluster.drop()
        raise
    return cluster
