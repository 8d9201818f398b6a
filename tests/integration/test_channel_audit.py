"""A notification channel's audit rows on a real store: each row names the channel and its
type whether the view learns them from the same batch (a rebuild, in one batch) or from the
channel's earlier rows (live, one batch per change), and never holds a secret's value."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapters.event_store_config import StoreSettings, parse_database_url
from interfaces.bootstrap import System, build
from interfaces.settings import Settings

SECRET = "channel-secret-5a1e-never-in-a-view"
ACTIONS = ["channel.created", "channel.changed", "channel.deleted", "channel.tested"]


class ChannelAuditContract:
    @pytest.fixture
    def store(self) -> StoreSettings:
        raise NotImplementedError

    @pytest.fixture
    def system(self, store: StoreSettings, tmp_path: Path):
        system = build(
            Settings(store=store, data_dir=tmp_path / "data", master_key=None),
            announce=lambda _message: None,
        )
        yield system
        system.close()

    def test_each_row_names_the_channel_and_its_type_however_the_batches_fall(
        self, system: System
    ) -> None:
        app = system.app
        channel = app.create_channel(
            name="on-call",
            type="slack",
            config={},
            secrets={"url": "https://hooks.slack.com/services/" + SECRET},
            actor="token:alice",
        )
        steps: list[Any] = [
            lambda: app.update_channel(channel.id, {"name": "pager"}, actor="token:bob"),
            lambda: app.update_channel(
                channel.id, {"config": {"timeout_seconds": 5}}, actor="token:bob"
            ),
            lambda: app.request_test_notification(
                channel.id, actor="token:carol", now=datetime.now(UTC)
            ),
            lambda: app.delete_channel(channel.id, actor="token:dave"),
        ]
        system.catch_up()
        for step in steps:  # one batch each: names and type come from the earlier rows
            step()
            system.catch_up()
        live, _ = system.audit.entries(actions=ACTIONS)
        rows = [
            (e["action"], e["actor"], e["details"]["channel_name"], e["details"]["channel_type"])
            for e in reversed(live)
        ]
        assert rows == [
            ("channel.created", "token:alice", "on-call", "slack"),
            ("channel.changed", "token:bob", "pager", "slack"),
            ("channel.changed", "token:bob", "pager", "slack"),
            ("channel.tested", "token:carol", "pager", "slack"),
            ("channel.deleted", "token:dave", "pager", "slack"),
        ]
        assert live[-1]["details"]["secrets"] == ["url"]
        assert live[-2]["changes"] == {"name": {"from": "on-call", "to": "pager"}}
        assert live[-3]["changes"]["config"]["to"] == {"timeout_seconds": 5}
        assert {e["details"]["channel_id"] for e in live} == {str(channel.id)}
        assert SECRET.encode() not in orjson.dumps(live, default=str)
        # Rebuilt in one batch: the same rows.
        system.rebuild_projections()
        rebuilt, _ = system.audit.entries(actions=ACTIONS)
        assert orjson.dumps(rebuilt, default=str) == orjson.dumps(live, default=str)


class TestChannelAuditOnSQLite(ChannelAuditContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> StoreSettings:
        return StoreSettings(kind="sqlite", sqlite_path=tmp_path / "data" / "jobledger.sqlite3")


@pytest.mark.postgres
class TestChannelAuditOnPostgres(ChannelAuditContract):
    @pytest.fixture
    def store(self, pg_schema: tuple[str, str]) -> StoreSettings:
        url, schema = pg_schema
        return parse_database_url(f"{url}?schema={schema}")
