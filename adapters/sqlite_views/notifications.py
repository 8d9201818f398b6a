"""The notifications view in SQLite: channels (and their secrets' names), triggers, and
deliveries by run."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Tracking

from adapters.sqlite_views.common import SQLiteView, dt, to_uuid, ts
from domain.job_name import normalize
from projections.notifications import NotificationsChanges, NotificationsView

DDL = (
    """CREATE TABLE IF NOT EXISTS view_channels (
        id TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        config TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS view_channel_secrets (
        channel_id TEXT NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (channel_id, name)
    )""",
    """CREATE TABLE IF NOT EXISTS view_triggers (
        id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL,
        name TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        revoked_at TEXT,
        revoked_by TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS view_triggers_job_idx ON view_triggers (job_id, created_at)",
    """CREATE TABLE IF NOT EXISTS view_deliveries (
        id TEXT PRIMARY KEY,
        run_id TEXT,
        job_id TEXT,
        channel_id TEXT NOT NULL,
        channel_name TEXT NOT NULL,
        event TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        last_status_code INTEGER,
        last_error TEXT NOT NULL,
        requested_at TEXT NOT NULL,
        next_attempt_at TEXT,
        settled_at TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS view_deliveries_run_idx ON view_deliveries (run_id, requested_at)",
)
TABLES = {"channel": "view_channels", "trigger": "view_triggers", "delivery": "view_deliveries"}
DELIVERY_COLUMNS = (
    "id, run_id, job_id, channel_id, channel_name, event, status, attempts, last_status_code,"
    " last_error, requested_at, next_attempt_at, settled_at"
)
UUIDS = ("id", "run_id", "job_id", "channel_id")
TIMES = ("requested_at", "next_attempt_at", "settled_at", "created_at", "revoked_at")


def _encode(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return ts(value)
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return value


class SQLiteNotificationsView(SQLiteView, NotificationsView):
    TABLES = ("view_channels", "view_channel_secrets", "view_triggers", "view_deliveries")
    DDL = DDL

    def apply(self, changes: NotificationsChanges, tracking: Tracking) -> None:
        with self.writing(tracking) as cursor:
            for op, ident, values in changes.ops:
                key = str(ident)
                if op in TABLES:  # a new row (a replayed one replaces itself)
                    columns = ["id", *values]
                    cursor.execute(
                        f"INSERT OR REPLACE INTO {TABLES[op]} ({', '.join(columns)})"
                        f" VALUES ({', '.join('?' * len(columns))})",
                        [key, *(_encode(v) for v in values.values())],
                    )
                elif op.endswith("_set"):
                    sets = ", ".join(f"{column} = ?" for column in values)
                    cursor.execute(
                        f"UPDATE {TABLES[op[:-4]]} SET {sets} WHERE id = ?",
                        [*(_encode(v) for v in values.values()), key],
                    )
                elif op == "channel_gone":
                    cursor.execute("DELETE FROM view_channels WHERE id = ?", (key,))
                    cursor.execute("DELETE FROM view_channel_secrets WHERE channel_id = ?", (key,))
                elif op == "secret_add":
                    cursor.execute(
                        "INSERT OR IGNORE INTO view_channel_secrets VALUES (?, ?)",
                        (key, values["name"]),
                    )
                elif op == "secret_remove":
                    cursor.execute(
                        "DELETE FROM view_channel_secrets WHERE channel_id = ? AND name = ?",
                        (key, values["name"]),
                    )

    def channels(self) -> list[dict[str, Any]]:
        with self.reading() as cursor:
            cursor.execute(
                "SELECT id, version, name, type, config, created_by, created_at, updated_at"
                " FROM view_channels"
            )
            rows = cursor.fetchall()
            cursor.execute("SELECT channel_id, name FROM view_channel_secrets ORDER BY name")
            secrets: dict[str, list[str]] = {}
            for channel_id, name in cursor.fetchall():
                secrets.setdefault(channel_id, []).append(name)
        found = [
            {
                "id": UUID(ident),
                "version": version,
                "name": name,
                "type": kind,
                "config": orjson.loads(config),
                "secrets": secrets.get(ident, []),
                "created_by": created_by,
                "created_at": dt(created_at),
                "updated_at": dt(updated_at),
            }
            for ident, version, name, kind, config, created_by, created_at, updated_at in rows
        ]
        return sorted(found, key=lambda c: (normalize(c["name"]), str(c["id"])))

    def job_triggers(self, job_id: UUID, *, revoked: bool = False) -> list[dict[str, Any]]:
        live = "" if revoked else " AND revoked_at IS NULL"
        with self.reading() as cursor:
            cursor.execute(
                "SELECT id, job_id, name, created_at, created_by, revoked_at, revoked_by"
                f" FROM view_triggers WHERE job_id = ?{live} ORDER BY created_at, id",
                (str(job_id),),
            )
            rows = cursor.fetchall()
        return [
            {
                "id": UUID(ident),
                "job_id": UUID(job),
                "name": name,
                "created_at": dt(created_at),
                "created_by": created_by,
                "revoked_at": dt(revoked_at),
                "revoked_by": revoked_by,
            }
            for ident, job, name, created_at, created_by, revoked_at, revoked_by in rows
        ]

    def run_deliveries(self, run_id: UUID) -> list[dict[str, Any]]:
        with self.reading() as cursor:
            cursor.execute(
                f"SELECT {DELIVERY_COLUMNS} FROM view_deliveries WHERE run_id = ?"
                " ORDER BY requested_at, id",
                (str(run_id),),
            )
            rows = cursor.fetchall()
        names = [column.strip() for column in DELIVERY_COLUMNS.split(",")]
        found = []
        for row in rows:
            item = dict(zip(names, row, strict=True))
            for column in UUIDS:
                item[column] = to_uuid(item[column])
            for column in ("requested_at", "next_attempt_at", "settled_at"):
                item[column] = dt(item[column])
            found.append(item)
        return found
