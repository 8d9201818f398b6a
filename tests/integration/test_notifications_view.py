"""The notifications view on both stores: channels (secrets by name only), triggers and each
run's deliveries list what the aggregates say, a rebuild from zero gives the same rows, and
no secret value, token or token hash reaches a view table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

from application.notification_commands import NotifySettings
from application.ports import ThreadWakeup
from interfaces.bootstrap import System
from interfaces.http.routes.notification_channels import present
from notifier.notifier import Notifier
from notifier.ports import MemoryPosition, Outgoing, SendResult
from tests.fakes import FakeClock

SECRET = "whsec-view-7d1e-never-in-a-view"


class Flaky:
    """Fails the first send of each channel, then succeeds."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def send(self, outgoing: Outgoing) -> SendResult:
        url = str(outgoing.config["url"])
        if url not in self.seen:
            self.seen.add(url)
            return SendResult(False, status_code=503, error="HTTP 503")
        return SendResult(True, status_code=200)


def channel_rows(system: System) -> list[dict[str, Any]]:
    return [
        {k: row[k] for k in ("id", "version", "name", "type", "config", "secrets", "created_by")}
        for row in system.notifications.channels()
    ]


def test_the_view_lists_what_the_aggregates_say_and_rebuilds_the_same(system: System) -> None:
    app, clock = system.app, FakeClock(datetime.now(UTC))
    hooks = app.create_channel(
        name="Hooks", type="webhook", config={"url": "https://a.example/h"},
        secrets={"signing_secret": SECRET}, actor="admin",
    )  # fmt: skip
    app.create_channel(
        name="alpha", type="webhook", config={"url": "https://b.example/h"}, secrets=None,
        actor="admin",
    )  # fmt: skip
    gone = app.create_channel(
        name="old", type="webhook", config={"url": "https://c.example/h"}, secrets=None,
        actor="admin",
    )  # fmt: skip
    app.update_channel(
        hooks.id,
        {
            "name": "hooks",
            "config": {"url": "https://a.example/h2"},
            "secrets": {"authorization": "Bearer x1-never"},
        },
        actor="admin",
    )
    app.update_channel(hooks.id, {"secrets": {"signing_secret": None}}, actor="admin")
    app.delete_channel(gone.id, actor="admin")

    job = app.register_job(
        name="PSA sync", job_type="command", program={"argv": ["false"]}, actor="admin",
        policies={"notify": [{"channel": c, "on": ["failed"]} for c in ("hooks", "alpha")]},
    ).id  # fmt: skip
    kept, _token = app.create_trigger(job, "tickets", actor="admin")
    revoked, token = app.create_trigger(job, "old hook", actor="admin")
    app.revoke_trigger(job, revoked.id, actor="admin")

    run = app.request_run(job, actor="admin")
    app.start_run(run.id, worker="w1")
    app.fail_run(run.id, exit_code=2, error="boom")
    notifier = Notifier(
        app, clock, MemoryPosition(), {"webhook": Flaky()}, NotifySettings(), ThreadWakeup()
    )
    notifier.decide()
    notifier.track()
    for ident in list(notifier.pending()):
        notifier.attempt(ident)  # each fails once...
    clock.advance(11)
    first = next(iter(notifier.pending()))
    notifier.attempt(first)  # ...and one is retried and delivered
    notifier.close()
    system.catch_up()

    expected = [{**present(c), "secrets": sorted(c.secrets)} for c in app.list_channels()]
    assert channel_rows(system) == expected
    assert [c["name"] for c in expected] == ["alpha", "hooks"]
    assert expected[1]["secrets"] == ["authorization"] and expected[1]["version"] == 5
    assert all(c["created_at"] <= c["updated_at"] for c in system.notifications.channels())

    live = system.notifications.job_triggers(job)
    assert [(t["id"], t["name"], t["revoked_at"]) for t in live] == [(kept.id, "tickets", None)]
    assert [
        {k: t[k] for k in ("id", "job_id", "name", "created_at", "created_by")} for t in live
    ] == (app.job_triggers(job))
    both = system.notifications.job_triggers(job, revoked=True)
    assert [t["name"] for t in both] == ["tickets", "old hook"]
    assert both[1]["revoked_at"] is not None and both[1]["revoked_by"] == "admin"

    by_id = {d["id"]: d for d in app.run_notifications(run.id)}
    rows = system.notifications.run_deliveries(run.id)
    assert {r["id"] for r in rows} == set(by_id) and len(rows) == 2
    for row in rows:
        assert row == by_id[row["id"]]
    assert sorted(r["status"] for r in rows) == ["delivered", "pending"]
    assert system.notifications.run_deliveries(UUID(int=0)) == []

    live_rows = dump(system)
    system.rebuild_projections()
    assert dump(system) == live_rows
    for value in (SECRET, "x1-never", token, revoked.token_hash):
        assert value not in table_text(system)


def dump(system: System) -> bytes:
    views = system.notifications
    return orjson.dumps(
        [views.channels(), *(views.job_triggers(j, revoked=True) for j in job_ids(system))],
        default=str,
        option=orjson.OPT_SORT_KEYS,
    )


def job_ids(system: System) -> list[UUID]:
    return [row["id"] for row in system.jobs.list_jobs(limit=100)[0]]


def table_text(system: System) -> str:
    """Every row of the view's tables, as text."""
    tables = ("view_channels", "view_channel_secrets", "view_triggers", "view_deliveries")
    if system.settings.store.kind == "sqlite":
        import sqlite3

        with sqlite3.connect(system.settings.store.sqlite_path) as db:
            return repr([db.execute(f"SELECT * FROM {t}").fetchall() for t in tables])
    import psycopg

    from adapters.event_store_config import conninfo

    with psycopg.connect(conninfo(system.settings.store)) as conn:
        schema = system.settings.store.schema
        return repr([conn.execute(f'SELECT * FROM "{schema}".{t}').fetchall() for t in tables])
