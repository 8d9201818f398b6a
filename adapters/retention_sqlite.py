"""Retention in the embedded store: deletes a run's log from the events table and the logs
view of the one SQLite file, and gives the pages back with an incremental vacuum.

SQLite numbers notifications by rowid, and a rowid table without AUTOINCREMENT gives a new
row the largest rowid + 1: deleting the newest rows would hand their numbers out again, and
the followers, already past them, would miss the events that got them. So a log whose last
event is the store's newest row waits for a later sweep (anything written since moves it).

`retention_pending` holds the sweep's marks (`mark_purge`): a run whose log is about to go,
with its count. The deletion closes the mark (`done_at`) in its transaction and counts the
entries then, once: a second sweep racing on the same run finds the mark closed and counts
nothing. Closed marks are pruned a day later (`reclaim`), long after any such race.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from adapters.sqlite_views.common import ts
from application.ports import RetentionCandidate
from domain.run_log import run_log_id

EVENTS = "stored_events"  # eventsourcing's SQLite application recorder's table
TOTALS_DDL = (
    "CREATE TABLE IF NOT EXISTS retention_totals"
    " (id INTEGER PRIMARY KEY, entries_purged INTEGER NOT NULL)"
)
# Two queries, each served by an index of its own (adapters.sqlite_views.runs): runs whose
# log is still there, and runs past the run retention (few: reduced runs leave the view).
LOG_CANDIDATES = (
    "SELECT id, finished_at, 0 FROM view_runs WHERE job_id = ? AND log_purged_at IS NULL"
    " AND finished_at IS NOT NULL AND finished_at < ? ORDER BY finished_at LIMIT ?"
)
RUN_CANDIDATES = (
    "SELECT id, finished_at, log_purged_at IS NOT NULL FROM view_runs"
    " WHERE job_id = ? AND finished_at IS NOT NULL AND finished_at < ?"
    " ORDER BY finished_at LIMIT ?"
)
PENDING_DDL = (
    "CREATE TABLE IF NOT EXISTS retention_pending"
    " (run_id TEXT PRIMARY KEY, entries INTEGER NOT NULL, done_at TEXT)"
)
# A mark already there (open, or closed by a racing sweep) stays as it is.
MARK = (
    "INSERT INTO retention_pending (run_id, entries) VALUES (?, ?) ON CONFLICT (run_id) DO NOTHING"
)
ADD_PURGED = (
    "INSERT INTO retention_totals (id, entries_purged) VALUES (1, ?) ON CONFLICT (id)"
    " DO UPDATE SET entries_purged = entries_purged + excluded.entries_purged"
)
NEWEST = (
    "SELECT id FROM view_runs WHERE job_id = ? AND finished_at IS NOT NULL"
    " ORDER BY requested_at DESC, id DESC LIMIT ?"
)


def prepare_new_store(path: Path) -> None:
    """On a new (empty) store file, switch on incremental vacuum: SQLite only takes that
    setting before the first table exists. An existing store keeps its setting until a
    one-off `jobledger retention vacuum` (a full VACUUM) converts it."""
    if path.stat().st_size:
        return
    with _connect(path) as db:
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        db.execute(TOTALS_DDL)
        db.execute(PENDING_DDL)
    db.close()


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: transactions are begun explicitly (BEGIN IMMEDIATE takes the
    # write lock at once, so a busy store waits up to the timeout instead of failing late).
    return sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)


def _ts(at: datetime) -> str:
    return ts(at) or ""


class SQLiteRetentionStore:
    """`application.ports.RetentionStore` on the SQLite file at `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = _connect(path)
        self.db.execute(TOTALS_DDL)
        self.db.execute(PENDING_DDL)
        # One connection, used by the sweep's thread and by /metrics: one user at a time.
        self.lock = threading.RLock()

    def close(self) -> None:
        with self.lock:
            self.db.close()

    def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.db.execute(sql, params).fetchall()

    def job_ids(self) -> list[UUID]:
        rows = self._rows("SELECT DISTINCT job_id FROM view_runs WHERE finished_at IS NOT NULL")
        return [UUID(job_id) for (job_id,) in rows]

    def candidates(
        self, job_id: UUID, *, log_before: datetime, run_before: datetime, limit: int
    ) -> list[RetentionCandidate]:
        rows = self._rows(RUN_CANDIDATES, (str(job_id), _ts(run_before), limit))
        rows += self._rows(LOG_CANDIDATES, (str(job_id), _ts(log_before), limit))
        found = {
            run_id: RetentionCandidate(UUID(run_id), datetime.fromisoformat(at), bool(purged))
            for run_id, at, purged in reversed(rows)  # the run query's answer wins
        }
        return sorted(found.values(), key=lambda c: c.finished_at)[:limit]

    def newest_finished(self, job_id: UUID, count: int) -> set[UUID]:
        return {UUID(run_id) for (run_id,) in self._rows(NEWEST, (str(job_id), count))}

    def count_log(self, run_id: UUID) -> int:
        sql = "SELECT count(*) FROM view_log_entries WHERE log_id = ?"
        return int(self._rows(sql, (run_log_id(run_id).bytes,))[0][0])

    def log_page(self, run_id: UUID, after: int, limit: int) -> list[tuple[int, str, int, str]]:
        sql = (
            "SELECT seq, at, level, message FROM view_log_entries"
            " WHERE log_id = ? AND seq > ? ORDER BY seq LIMIT ?"
        )
        rows = self._rows(sql, (run_log_id(run_id).bytes, after, limit))
        return [(int(seq), str(at), int(level), str(message)) for seq, at, level, message in rows]

    def mark_purge(self, run_id: UUID, entries: int) -> None:
        with self.lock:
            self.db.execute(MARK, (str(run_id), entries))  # autocommit: durable on return

    def pending_purges(self) -> list[UUID]:
        sql = "SELECT run_id FROM retention_pending WHERE done_at IS NULL"
        return [UUID(run_id) for (run_id,) in self._rows(sql)]

    def purge_log(self, run_id: UUID) -> int | None:
        with self.lock:
            return self._purge_log(run_id, run_log_id(run_id))

    def log_settled(self, run_id: UUID) -> bool:
        with self.lock:
            return self._settled(run_log_id(run_id))

    def _settled(self, log_id: UUID) -> bool:
        """Whether the logs view has processed the whole stream and its last event is not
        the store's newest row (see the module docstring)."""
        db = self.db
        (last,) = db.execute(
            f"SELECT max(rowid) FROM {EVENTS} WHERE originator_id = ?", (log_id.hex,)
        ).fetchone()
        if last is None:
            return True
        (newest,) = db.execute(f"SELECT max(rowid) FROM {EVENTS}").fetchone()
        (seen,) = db.execute(
            "SELECT max(notification_id) FROM tracking WHERE application_name = 'logs'"
        ).fetchone()
        return bool(last < newest and seen is not None and seen >= last)

    def _purge_log(self, run_id: UUID, log_id: UUID) -> int | None:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            if not self._settled(log_id):
                db.execute("ROLLBACK")
                return None
            removed = db.execute(
                "DELETE FROM view_log_entries WHERE log_id = ?", (log_id.bytes,)
            ).rowcount
            db.execute(f"DELETE FROM {EVENTS} WHERE originator_id = ?", (log_id.hex,))
            db.execute("UPDATE view_log_totals SET entries = entries - ? WHERE id = 1", (removed,))
            # The marked count is what the run's LogPurged says went: counted once, by
            # whichever deletion closes the mark (a resumed one may find fewer rows left).
            closed = db.execute(
                "UPDATE retention_pending SET done_at = datetime('now')"
                " WHERE run_id = ? AND done_at IS NULL RETURNING entries",
                (str(run_id),),
            ).fetchall()
            if closed:
                db.execute(ADD_PURGED, (int(closed[0][0]),))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return int(removed)

    def reclaim(self) -> None:
        # Frees the pages the sweep emptied (a no-op on a store without incremental vacuum).
        with self.lock:
            self.db.execute(
                "DELETE FROM retention_pending WHERE done_at < datetime('now', '-1 day')"
            )
            # It frees one page per step, and Python's execute() steps a statement without
            # result columns once: executescript (sqlite3_exec) steps it to the end.
            self.db.executescript("PRAGMA incremental_vacuum;")

    def vacuum(self) -> None:
        """The one-off full VACUUM that switches an existing store to incremental vacuum.
        It rewrites the whole file and holds the store while it does: run it stopped."""
        with self.lock:
            self.db.execute("PRAGMA auto_vacuum = INCREMENTAL")
            self.db.execute("VACUUM")

    def store_bytes(self) -> int:
        (pages,) = self._rows("PRAGMA page_count")[0]
        (size,) = self._rows("PRAGMA page_size")[0]
        return int(pages) * int(size)

    def purged_entries(self) -> int:
        rows = self._rows("SELECT entries_purged FROM retention_totals WHERE id = 1")
        return int(rows[0][0]) if rows else 0
