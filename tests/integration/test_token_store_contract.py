"""API tokens: random, shown once, stored only as a hash; revocable; roles checked.

The same contract on both stores: a SQLite file and a PostgreSQL schema.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from adapters.event_store_config import StoreSettings, parse_database_url
from adapters.token_store import TABLE_NAME
from application.app import JobLedger
from application.ports import TokenStore
from domain.access import Principal
from domain.access_log import Access
from domain.errors import Conflict, InvalidInput
from interfaces.bootstrap import build_token_access, build_token_store
from interfaces.http.first_admin import ensure_first_admin
from interfaces.settings import Settings


class TokenStoreContract:
    @pytest.fixture
    def settings(self, tmp_path: Path) -> Settings:
        raise NotImplementedError

    @pytest.fixture
    def store(self, settings: Settings):
        store = build_token_store(settings, cache_seconds=60)
        yield store
        store.close()

    @pytest.fixture
    def recorder(self, settings: Settings):
        """The application that records token events, on the same store."""
        app, tokens = build_token_access(settings)
        tokens.close()
        yield app
        app.close()

    def stored_bytes(self, settings: Settings) -> bytes:
        """Everything the store holds, as bytes, to look for a plain token in."""
        raise NotImplementedError

    def test_a_token_is_random_prefixed_shown_once_and_stored_only_as_its_hash(
        self, store: TokenStore, settings: Settings
    ) -> None:
        principal, plain = store.create("ci-bot", "operator")
        _, other = store.create("alice", "viewer")
        assert plain.startswith("jl_") and len(plain) >= 40 and plain != other
        assert principal == Principal(name="ci-bot", role="operator", token_id=principal.token_id)
        assert principal.actor == "token:ci-bot"
        assert store.verify(plain) == principal
        assert store.get(principal.token_id) == principal
        stored = self.stored_bytes(settings)
        assert plain.encode() not in stored and other.encode() not in stored
        assert plain[3:].encode() not in stored
        assert hashlib.sha256(plain.encode()).hexdigest().encode() in stored
        listed = store.list()
        assert [t["name"] for t in listed] == ["ci-bot", "alice"]
        assert all(plain not in str(t) for t in listed)
        assert listed[0]["last_used_at"] is not None  # verified once above
        assert listed[1]["last_used_at"] is None

    def test_unknown_malformed_and_revoked_tokens_are_refused(self, store: TokenStore) -> None:
        principal, plain = store.create("ci-bot", "operator")
        for wrong in ("", "jl_", plain + "x", plain[:-1], "Bearer " + plain, "x" * 5000):
            assert store.verify(wrong) is None
        assert store.get("no-such-id") is None
        assert store.verify(plain) == principal  # cached now: revocation must still win
        assert store.revoke("ci-bot") is True
        assert store.verify(plain) is None
        assert store.get(principal.token_id) is None
        assert store.revoke("ci-bot") is False
        assert store.list()[0]["revoked"] is True
        # A revoked name may be used again; revoking by id works too.
        again, plain2 = store.create("ci-bot", "viewer")
        assert store.revoke(again.token_id) is True
        assert store.verify(plain2) is None

    def test_a_token_is_identified_live_or_revoked_but_a_wrong_one_is_not(
        self, store: TokenStore
    ) -> None:
        principal, plain = store.create("ci-bot", "operator")
        assert store.identify(plain) == principal
        store.revoke("ci-bot")
        assert store.verify(plain) is None and store.identify(plain) == principal
        for wrong in ("", "jl_", plain + "x", plain[:-1], "x" * 5000):
            assert store.identify(wrong) is None

    def test_names_and_roles_are_checked(self, store: TokenStore) -> None:
        with pytest.raises(InvalidInput) as error:
            store.create("x", "superuser")
        assert error.value.field == "role"
        for name in ("", "   ", "a" * 101, "tab\there"):
            with pytest.raises(InvalidInput) as error:
                store.create(name, "viewer")
            assert error.value.field == "name"
        store.create("alice", "viewer")
        with pytest.raises(Conflict):
            store.create("alice", "admin")
        assert [t["name"] for t in store.list()] == ["alice"]

    def test_only_administrators_exist_by_default_and_the_first_is_announced_once(
        self, store: TokenStore, recorder: JobLedger
    ) -> None:
        assert store.has_admin() is False
        said: list[str] = []
        token = ensure_first_admin(store, said.append, recorder)
        assert token is not None and store.has_admin()
        assert "administrator token" in said[0] and said[1] == token
        principal = store.verify(token)
        assert principal is not None and principal.role == "admin" and principal.name == "admin"
        assert ensure_first_admin(store, said.append, recorder) is None
        assert len(said) == 2
        notes = recorder.recorder.select_notifications(1, 10)
        (made,) = [recorder.mapper.to_domain_event(n) for n in notes]
        assert isinstance(made, Access.TokenCreated) and made.token_id == principal.token_id
        assert made.actor == "system:first-start" and token not in repr(made)
        store.create("viewer-1", "viewer")
        assert [t["role"] for t in store.list()] == ["admin", "viewer"]

    def test_a_second_process_sees_tokens_and_revocations(
        self, store: TokenStore, settings: Settings
    ) -> None:
        principal, plain = store.create("ci-bot", "admin")
        other = build_token_store(settings, cache_seconds=0)
        try:
            assert other.verify(plain) == principal
            assert other.has_admin()
            store.revoke(principal.token_id)
            assert other.verify(plain) is None
        finally:
            other.close()

    def test_a_revocation_in_another_process_takes_effect_at_once(self, settings: Settings) -> None:
        api, cli = build_token_store(settings), build_token_store(settings)
        try:
            principal, plain = cli.create("ci-bot", "viewer")
            assert api.verify(plain) == principal
            assert api.get(principal.token_id) == principal
            cli.revoke("ci-bot")
            assert api.verify(plain) is None
            assert api.get(principal.token_id) is None
        finally:
            api.close()
            cli.close()


class TestTokenStoreOnSQLite(TokenStoreContract):
    @pytest.fixture
    def settings(self, tmp_path: Path) -> Settings:
        store = StoreSettings(kind="sqlite", sqlite_path=tmp_path / "data" / "jobledger.sqlite3")
        return Settings(store=store, data_dir=tmp_path / "data", master_key=None)

    def stored_bytes(self, settings: Settings) -> bytes:
        assert settings.store.sqlite_path is not None
        folder = settings.store.sqlite_path.parent
        return b"".join(path.read_bytes() for path in folder.iterdir() if path.is_file())


@pytest.mark.postgres
class TestTokenStoreOnPostgres(TokenStoreContract):
    @pytest.fixture
    def settings(self, tmp_path: Path, pg_schema: tuple[str, str]) -> Settings:
        url, schema = pg_schema
        store = parse_database_url(f"{url}?schema={schema}")
        return Settings(store=store, data_dir=tmp_path / "data", master_key=None)

    def stored_bytes(self, settings: Settings) -> bytes:
        from adapters.event_store_config import conninfo

        query = sql.SQL("SELECT t::text FROM {} AS t").format(
            sql.Identifier(settings.store.schema, TABLE_NAME)
        )
        with psycopg.connect(conninfo(settings.store)) as conn:
            return "\n".join(row[0] for row in conn.execute(query)).encode()
