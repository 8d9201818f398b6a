"""Webhook triggers: a URL and a token with which another system starts a job's run.

A `Trigger` is its own stream (its id is in the URL, `/hooks/{id}`), holding its job, its
name and the SHA-256 of its token, never the token; revoking it is an event. A job's
`JobTriggers` (one stream per job, its id derived from the job's) lists the job's live
triggers, so listing them is one load and names are unique per job.

Tokens are longer than SHA-256's 64-byte block on purpose: HMAC (RFC 2104) hashes such a
key before use, so HMAC-SHA256(token, body), the GitHub-style `X-Hub-Signature-256` a
sender computes with the token as its secret, equals HMAC-SHA256(SHA-256(token), body),
which the stored hash lets us check without keeping the token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import Conflict, InvalidInput, NotFound

TOKEN_PREFIX = "jlh_"
# 48 random bytes: 384 bits, 64 characters of base64url; with the prefix, 68 bytes, over
# the 64-byte block that makes HMAC hash the key (see the module's docstring).
TOKEN_BYTES = 48
HMAC_BLOCK_BYTES = 64
SIGNATURE_PREFIX = "sha256="
# Names become part of the run's trigger ("webhook:<name>"), shown in pages and filters.
TRIGGER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}")
TRIGGER_NAME_RULE = (
    "a trigger name holds 1 to 64 letters, digits, spaces, dots, dashes or underscores, "
    "and starts with a letter or a digit"
)
WEBHOOK_TRIGGER_PREFIX = "webhook:"
# Compared against when no trigger matched, so an unknown trigger costs what a wrong token does.
UNKNOWN_HASH = hashlib.sha256(b"no such trigger").hexdigest()

# Fixed namespace for a job's trigger list id. Never change it.
JOB_TRIGGERS_NAMESPACE = uuid5(NAMESPACE_URL, "https://jobledger.dev/ns/job-triggers")


def new_token() -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    assert len(token.encode()) > HMAC_BLOCK_BYTES
    return token


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def trigger_name(value: object) -> str:
    if not isinstance(value, str) or not TRIGGER_NAME.fullmatch(value.strip()):
        raise InvalidInput("name", TRIGGER_NAME_RULE)
    return value.strip()


def run_trigger(name: str) -> str:
    """The `trigger` of a run this trigger starts."""
    return WEBHOOK_TRIGGER_PREFIX + name


def bearer_matches(stored_hash: str, presented: str) -> bool:
    """Whether `presented` is the token whose hash is stored, in constant time."""
    return hmac.compare_digest(token_hash(presented), stored_hash)


def signature_matches(stored_hash: str, body: bytes, header: str) -> bool:
    """Whether `header` is `sha256=<hex HMAC-SHA256(token, body)>`, in constant time."""
    if not header.startswith(SIGNATURE_PREFIX):
        return False
    key = bytes.fromhex(stored_hash)  # the key HMAC itself would use for the long token
    expected = hmac.new(key, body, hashlib.sha256).hexdigest()
    given = header[len(SIGNATURE_PREFIX) :].strip().lower()
    # Bytes: compare_digest refuses str with non-ASCII characters, which a header may hold.
    return hmac.compare_digest(expected.encode(), given.encode())


class Trigger(Aggregate):
    """One webhook trigger of one job. Created once, then at most revoked."""

    class Created(Aggregate.Created):
        job_id: UUID
        job_name: str
        name: str
        token_hash: str
        actor: str

    class Revoked(Aggregate.Event):
        job_id: UUID
        job_name: str
        actor: str

        def apply(self, trigger: Trigger) -> None:
            trigger.revoked_at = self.timestamp
            trigger.revoked_by = self.actor

    def __init__(self, job_id: UUID, job_name: str, name: str, token_hash: str, actor: str) -> None:
        self.job_id = job_id
        self.job_name = job_name  # as it was when the trigger was made: for the audit trail
        self.name = name
        self.token_hash = token_hash
        self.created_by = actor
        self.revoked_at: datetime | None = None
        self.revoked_by: str | None = None

    @property
    def live(self) -> bool:
        return self.revoked_at is None

    def authenticates(self, *, bearer: str | None, signature: str | None, body: bytes) -> bool:
        """A bearer token, else a GitHub-style signature of the body; a revoked trigger
        accepts neither."""
        if bearer is not None:
            ok = bearer_matches(self.token_hash, bearer)
        elif signature is not None:
            ok = signature_matches(self.token_hash, body, signature)
        else:
            ok = False
        return ok and self.live

    def revoke(self, *, job_name: str, actor: str) -> None:
        if not self.live:
            raise NotFound("trigger", self.id)
        self.trigger_event(self.Revoked, job_id=self.job_id, job_name=job_name, actor=actor)

    def summary(self) -> dict[str, Any]:
        """What a listing shows: never the token or its hash."""
        return {
            "id": self.id,
            "job_id": self.job_id,
            "name": self.name,
            "created_at": self.created_on,
            "created_by": self.created_by,
        }


def job_triggers_id(job_id: UUID) -> UUID:
    return uuid5(JOB_TRIGGERS_NAMESPACE, str(job_id))


class JobTriggers(Aggregate):
    """The live triggers of one job, by id: {"name", "created_at", "created_by"}."""

    class Started(Aggregate.Created):
        job_id: UUID

    class Added(Aggregate.Event):
        trigger_id: UUID
        name: str
        created_at: datetime
        actor: str

        def apply(self, listing: JobTriggers) -> None:
            listing.live[str(self.trigger_id)] = {
                "id": self.trigger_id,
                "job_id": listing.job_id,
                "name": self.name,
                "created_at": self.created_at,
                "created_by": self.actor,
            }

    class Removed(Aggregate.Event):
        trigger_id: UUID
        actor: str

        def apply(self, listing: JobTriggers) -> None:
            listing.live.pop(str(self.trigger_id), None)

    def __init__(self, job_id: UUID) -> None:
        self.job_id = job_id
        self.live: dict[str, dict[str, Any]] = {}

    def add(self, trigger: Trigger, *, actor: str) -> None:
        taken = {entry["name"].casefold() for entry in self.live.values()}
        if trigger.name.casefold() in taken:
            raise Conflict(f"this job already has a trigger named {trigger.name!r}")
        self.trigger_event(
            self.Added,
            trigger_id=trigger.id,
            name=trigger.name,
            created_at=trigger.created_on,
            actor=actor,
        )

    def remove(self, trigger_id: UUID, *, actor: str) -> None:
        self.trigger_event(self.Removed, trigger_id=trigger_id, actor=actor)

    def listing(self) -> list[dict[str, Any]]:
        """The live triggers, oldest first."""
        return sorted(self.live.values(), key=lambda entry: entry["created_at"])


def start_listing(job_id: UUID) -> JobTriggers:
    return JobTriggers._create(JobTriggers.Started, id=job_triggers_id(job_id), job_id=job_id)


def create(*, job_id: UUID, job_name: str, name: object, actor: str) -> tuple[Trigger, str]:
    """A new trigger and its token (to show once)."""
    token = new_token()
    trigger = Trigger._create(
        Trigger.Created,
        id=uuid4(),
        job_id=job_id,
        job_name=job_name,
        name=trigger_name(name),
        token_hash=token_hash(token),
        actor=actor,
    )
    return trigger, token
