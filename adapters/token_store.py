"""API tokens: who may call the HTTP API and the web pages, and with which role.

A token is `jl_` followed by 43 random URL-safe characters (32 bytes from `secrets`). It is
shown once, when created; the store keeps only its SHA-256 hash. Tokens are random and
long, so a plain hash is enough: no one can guess a token whose hash they have, and a
lookup by hash takes no time that depends on how much of a guess was right.

Backends: `adapters.token_store_sqlite.SQLiteTokenStore` and
`adapters.token_store_postgres.PostgresTokenStore`, both over the table
`jobledger_api_tokens` in the configured store, each made by its store backend
(adapters.sqlite_backend, adapters.postgres_backend). Revoked tokens stay as rows (so `list`
shows them and their names can be reused), marked with the time they were revoked.
"""

from __future__ import annotations

import builtins
import hashlib
import secrets
import threading
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.access import ROLES, Principal
from domain.errors import InvalidInput

TABLE_NAME = "jobledger_api_tokens"
TOKEN_PREFIX = "jl_"
MAX_NAME_LENGTH = 100
# A token is recognisable by its prefix and far shorter than this: longer input is refused
# before it is hashed.
MAX_TOKEN_LENGTH = 200
# last_used_at is a hint for people reviewing tokens, not an audit record: written at most
# this often per token, so checking a token on every request is a read, not a write.
TOUCH_INTERVAL = timedelta(seconds=60)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("name", "must be a non-empty string")
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput("name", f"is {len(name)} characters; the limit is {MAX_NAME_LENGTH}")
    if not name.isprintable():
        raise InvalidInput("name", "must not contain control characters")
    return name


def check_role(role: object) -> str:
    if role not in ROLES:
        raise InvalidInput("role", f"{role!r} is not a role; expected one of {', '.join(ROLES)}")
    return str(role)


@dataclass(frozen=True)
class TokenRow:
    """One stored token, without its hash."""

    id: str
    name: str
    role: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def principal(self) -> Principal:
        return Principal(name=self.name, role=self.role, token_id=self.id)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
            "revoked": self.revoked_at is not None,
            "revoked_at": self.revoked_at,
        }


class SqlTokenStore(ABC):
    """Creates, checks and revokes API tokens in a SQL table; implements
    application.ports.TokenStore. Safe across threads and processes.

    Every check reads the token's row (one indexed lookup), so a revocation takes effect
    at once in every process. `cache_seconds` > 0 trades that for fewer reads: a revoked
    token then keeps working for up to that long in other processes.
    """

    def __init__(self, *, cache_seconds: float = 0.0) -> None:
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, TokenRow]] = {}  # by hash or by "id:" + id
        self._lock = threading.Lock()

    # The operations the API, the pages and the command line use.

    def create(self, name: str, role: str) -> tuple[Principal, str]:
        """A new token: (its principal, the plain token, to show once and never again)."""
        row = TokenRow(
            id=str(uuid.uuid4()),
            name=check_name(name),
            role=check_role(role),
            created_at=datetime.now(UTC),
            last_used_at=None,
            revoked_at=None,
        )
        plain = new_token()
        self._insert(row, token_hash(plain))
        return row.principal(), plain

    def verify(self, plain: str) -> Principal | None:
        """The principal of a live token, or None (unknown, revoked or malformed)."""
        if (
            not isinstance(plain, str)
            or not plain.startswith(TOKEN_PREFIX)
            or len(plain) > MAX_TOKEN_LENGTH
        ):
            return None
        digest = token_hash(plain)
        row = self._cached(digest)
        if row is None:
            row = self._find_by_hash(digest)
            if row is None or row.revoked_at is not None:
                return None
            self._remember(digest, row)
            self._touch_if_stale(row)
        return row.principal()

    def identify(self, plain: str) -> Principal | None:
        """The principal of a token issued here, live or revoked, or None: to name who
        tried a revoked token on the audit trail. Never to authenticate."""
        if (
            not isinstance(plain, str)
            or not plain.startswith(TOKEN_PREFIX)
            or len(plain) > MAX_TOKEN_LENGTH
        ):
            return None
        row = self._find_by_hash(token_hash(plain))
        return None if row is None else row.principal()

    def verify_cached(self, plain: str) -> Principal | None:
        """The principal if this token was verified within `cache_seconds`, else None (then
        call `verify`). Touches no database, so an event loop may call it."""
        if not isinstance(plain, str) or len(plain) > MAX_TOKEN_LENGTH:
            return None
        row = self._cached(token_hash(plain))
        return None if row is None else row.principal()

    def get(self, token_id: str) -> Principal | None:
        """The principal of a live token by its id (for sessions), or None if revoked."""
        key = "id:" + str(token_id)
        row = self._cached(key)
        if row is None:
            row = self._find_by_id(str(token_id))
            if row is None or row.revoked_at is not None:
                return None
            self._remember(key, row)
        return row.principal()

    def list(self) -> builtins.list[dict[str, Any]]:
        """Every token, revoked ones included, oldest first: never a hash or a token."""
        return [row.as_dict() for row in self._rows()]

    def revoke(self, token_id_or_name: str) -> bool:
        """Revoke the live token with this id, or else with this name. False if none."""
        revoked = self._revoke(str(token_id_or_name), datetime.now(UTC))
        with self._lock:
            self._cache.clear()
        return revoked

    def has_admin(self) -> bool:
        return self._has_live_role("admin")

    def close(self) -> None:
        """Release connections. The store is unusable afterwards."""
        return None

    # Caching and last-use bookkeeping.

    def _cached(self, key: str) -> TokenRow | None:
        with self._lock:
            hit = self._cache.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def _remember(self, key: str, row: TokenRow) -> None:
        if self._cache_seconds > 0:
            with self._lock:
                if len(self._cache) > 10_000:  # only live tokens get here, but stay bounded
                    self._cache.clear()
                self._cache[key] = (time.monotonic() + self._cache_seconds, row)

    def _touch_if_stale(self, row: TokenRow) -> None:
        now = datetime.now(UTC)
        if row.last_used_at is None or now - row.last_used_at >= TOUCH_INTERVAL:
            self._touch(row.id, now)

    # What each backend implements.

    @abstractmethod
    def create_table(self) -> None:
        """Create the table if it is missing (idempotent, safe to race)."""

    @abstractmethod
    def _insert(self, row: TokenRow, digest: str) -> None:
        """Store a new token; Conflict if a live token already has its name."""

    @abstractmethod
    def _find_by_hash(self, digest: str) -> TokenRow | None: ...

    @abstractmethod
    def _find_by_id(self, token_id: str) -> TokenRow | None: ...

    @abstractmethod
    def _rows(self) -> builtins.list[TokenRow]: ...

    @abstractmethod
    def _revoke(self, token_id_or_name: str, at: datetime) -> bool: ...

    @abstractmethod
    def _touch(self, token_id: str, at: datetime) -> None: ...

    @abstractmethod
    def _has_live_role(self, role: str) -> bool: ...
