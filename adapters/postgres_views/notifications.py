"""The notifications view in PostgreSQL: channels (and their secrets' names), triggers, and
deliveries by run."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from psycopg.types.json import Jsonb

from adapters.postgres_views.common import PostgresView
from domain.job_name import normalize
from projections.notifications import NotificationsChanges, NotificationsView

DDL = (
    """CREATE TABLE IF NOT EXISTS {s}.view_channels (
        id uuid PRIMARY KEY,
        version integer NOT NULL,
        name text NOT NULL,
        type text NOT NULL,
        config jsonb NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS {s}.view_channel_secrets (
        channel_id uuid NOT NULL,
        name text NOT NULL,
        PRIMARY KEY (channel_id, name)
    )""",
    """CREATE TABLE IF NOT EXISTS {s}.view_triggers (
        id uuid PRIMARY KEY,
        job_id uuid NOT NULL,
        name text NOT NULL,
        created_at timestamptz NOT NULL,
        created_by text NOT NULL,
        revoked_at timestamptz,
        revoked_by text
    )""",
    "CREATE INDEX IF NOT EXISTS view_triggers_job_idx ON {s}.view_triggers (job_id, created_at)",
    """CREATE TABLE IF NOT EXISTS {s}.view_deliveries (
        id uuid PRIMARY KEY,
        run_id uuid,
        job_id uuid,
        channel_id uuid NOT NULL,
        channel_name text NOT NULL,
        event text NOT NULL,
        status text NOT NULL,
        attempts integer NOT NULL,
        last_status_code integer,
        last_error text NOT NULL,
        requested_at timestamptz NOT NULL,
        next_attempt_at timestamptz,
        settled_at timestamptz
    )""",
    "CREATE INDEX IF NOT EXISTS view_deliveries_run_idx"
    " ON {s}.view_deliveries (run_id, requested_at)",
)
TABLES = {"channel": "view_channels", "trigger": "view_triggers", "delivery": "view_deliveries"}
QUERIES = {
    "channel_gone": "DELETE FROM {s}.view_channels WHERE id = %s",
    "secrets_gone": "DELETE FROM {s}.view_channel_secrets WHERE channel_id = %s",
    "secret_add": "INSERT INTO {s}.view_channel_secrets VALUES (%s, %s) ON CONFLICT DO NOTHING",
    "secret_remove": "DELETE FROM {s}.view_channel_secrets WHERE channel_id = %s AND name = %s",
    "channels": "SELECT id, version, name, type, config, created_by, created_at, updated_at"
    " FROM {s}.view_channels",
    "secrets": "SELECT channel_id, name FROM {s}.view_channel_secrets ORDER BY name",
    "triggers": "SELECT id, job_id, name, created_at, created_by, revoked_at, revoked_by"
    " FROM {s}.view_triggers WHERE job_id = %s AND (%s OR revoked_at IS NULL)"
    " ORDER BY created_at, id",
    "deliveries": "SELECT id, run_id, job_id, channel_id, channel_name, event, status, attempts,"
    " last_status_code, last_error, requested_at, next_attempt_at, settled_at"
    " FROM {s}.view_deliveries WHERE run_id = %s ORDER BY requested_at, id",
}


def _encode(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, dict | list) else value


class PostgresNotificationsView(PostgresView, NotificationsView):
    TABLES = ("view_channels", "view_channel_secrets", "view_triggers", "view_deliveries")
    DDL = DDL
    QUERIES = QUERIES

    def apply(self, changes: NotificationsChanges, tracking: Tracking) -> None:
        with self.writing(tracking) as cursor:
            for op, ident, values in changes.ops:
                if op in TABLES:  # a new row (a replayed one replaces itself)
                    columns = ["id", *values]
                    updates = ", ".join(f"{c} = excluded.{c}" for c in values)
                    statement = (
                        f"INSERT INTO {{s}}.{TABLES[op]} ({', '.join(columns)})"
                        f" VALUES ({', '.join(['%s'] * len(columns))})"
                        f" ON CONFLICT (id) DO UPDATE SET {updates}"
                    )
                    cursor.execute(
                        self.compose(statement), [ident, *(_encode(v) for v in values.values())]
                    )
                elif op.endswith("_set"):
                    sets = ", ".join(f"{column} = %s" for column in values)
                    statement = f"UPDATE {{s}}.{TABLES[op[:-4]]} SET {sets} WHERE id = %s"
                    cursor.execute(
                        self.compose(statement), [*(_encode(v) for v in values.values()), ident]
                    )
                elif op == "channel_gone":
                    cursor.execute(self.q["channel_gone"], (ident,))
                    cursor.execute(self.q["secrets_gone"], (ident,))
                else:  # secret_add, secret_remove
                    cursor.execute(self.q[op], (ident, values["name"]))

    def channels(self) -> list[dict[str, Any]]:
        secrets: dict[UUID, list[str]] = {}
        for row in self.fetch(self.q["secrets"]):
            secrets.setdefault(row["channel_id"], []).append(row["name"])
        found = [
            {**row, "secrets": secrets.get(row["id"], [])} for row in self.fetch(self.q["channels"])
        ]
        return sorted(found, key=lambda c: (normalize(c["name"]), str(c["id"])))

    def job_triggers(self, job_id: UUID, *, revoked: bool = False) -> list[dict[str, Any]]:
        return [dict(row) for row in self.fetch(self.q["triggers"], (job_id, revoked))]

    def run_deliveries(self, run_id: UUID) -> list[dict[str, Any]]:
        return [dict(row) for row in self.fetch(self.q["deliveries"], (run_id,))]
