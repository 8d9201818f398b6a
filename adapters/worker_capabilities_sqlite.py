"""Which job types the workers can run, in the embedded SQLite file.

One process owns the embedded store (`jobledger serve`), and it has no leases: a record
counts while the process that wrote it runs. So each record names its process, and a worker
recording its own drops those of any other process, which can only be one that has ended
(as the runs it left `running` are abandoned at start). Rows, not events: see
adapters.worker_capabilities_postgres.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path

from engine.ports import Capability
from jobtypes import Availability

TABLE = "jobledger_worker_capabilities"


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class SQLiteWorkerCapabilities:
    """engine.ports.WorkerCapabilities in a table of the embedded SQLite database."""

    def __init__(self, path: str | Path, *, process: str | None = None) -> None:
        self._process = process or this_process()
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(path), isolation_level=None, timeout=30, check_same_thread=False
        )
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (worker_id TEXT NOT NULL, "
            "job_type TEXT NOT NULL, available INTEGER NOT NULL, reason TEXT, detail TEXT, "
            "process TEXT NOT NULL, PRIMARY KEY (worker_id, job_type))"
        )

    def __repr__(self) -> str:
        return f"SQLiteWorkerCapabilities(process={self._process!r})"

    def record(self, worker_id: str, capabilities: Mapping[str, Availability]) -> None:
        rows = [
            (worker_id, name, int(found.available), found.reason, found.detail, self._process)
            for name, found in sorted(capabilities.items())
        ]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(
                    f"DELETE FROM {TABLE} WHERE worker_id = ? OR process <> ?",
                    (worker_id, self._process),
                )
                self._conn.executemany(
                    f"INSERT INTO {TABLE} (worker_id, job_type, available, reason, detail, "
                    "process) VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def live(self) -> list[Capability]:
        with self._lock:
            found = self._conn.execute(
                f"SELECT worker_id, job_type, available, reason, detail FROM {TABLE} "
                "ORDER BY worker_id, job_type"
            ).fetchall()
        return [
            Capability(worker_id, job_type, bool(available), reason, detail)
            for worker_id, job_type, available, reason, detail in found
        ]

    def forget(self, worker_id: str) -> None:
        with self._lock:
            self._conn.execute(f"DELETE FROM {TABLE} WHERE worker_id = ?", (worker_id,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
