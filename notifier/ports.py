"""The notifier's ports: how a message leaves (one sender per channel type) and where the
notifier keeps its position in the event log. Adapters implement them
(`adapters.senders`, `adapters.notifier_checkpoint`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID


@dataclass(frozen=True, repr=False)
class Outgoing:
    """One attempt at one delivery: the channel's settings and decrypted secrets, the
    payload, and the delivery's id as the idempotency key."""

    channel_type: str
    config: dict[str, Any]
    secrets: dict[str, str]
    payload: dict[str, Any]
    idempotency_key: str

    def __repr__(self) -> str:
        # Never the secrets, even in a traceback's locals.
        return f"Outgoing({self.channel_type}, key={self.idempotency_key})"


@dataclass(frozen=True)
class SendResult:
    """What an attempt came to. `error` is short and holds no secret (never a URL, a
    header or a response body); `permanent` means retrying cannot help (a 4xx refusal)."""

    ok: bool
    status_code: int | None = None
    error: str = ""
    permanent: bool = False


class Sender(Protocol):
    """Sends one message through one type of channel. Never raises for the receiver's or
    the network's failures: it says so in the result."""

    def send(self, outgoing: Outgoing) -> SendResult: ...


class Position(Protocol):
    """Up to which notification of the log the notifier has decided every run outcome."""

    def load(self) -> int: ...

    def save(self, position: int) -> None:
        """Move forward (never back), after the decisions up to it were saved."""
        ...


class MemoryPosition:
    """A position in memory, for tests and for a notifier that never restarts."""

    def __init__(self, position: int = 0) -> None:
        self.position = position

    def load(self) -> int:
        return self.position

    def save(self, position: int) -> None:
        self.position = max(self.position, position)


class JobsSnapshot(Protocol):
    """The part of the jobs view the notifier reads to notice scheduled jobs that did not
    run (the projections' JobsView is one)."""

    def list_jobs(
        self, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of jobs (with `enabled`, `schedule`, `policies`, `last_run_at`,
        `created_at`, `updated_at`) and the next page's cursor, or None."""
        ...


class RunningRuns(Protocol):
    """The runs now running, so a restarted notifier still watches them for `long_running`
    (the projections' RunsView is one)."""

    def running_runs(self) -> list[dict[str, Any]]:
        """[{id, job_id, started_at, ...}]"""
        ...


class PendingDeliveries(Protocol):
    """The deliveries not yet settled and when each is due, with the log position up to
    which they were learnt, saved together: a restarted notifier starts from them instead of
    reading every delivery event in the log (`adapters.notifier_deliveries`)."""

    def load(self) -> tuple[int, dict[UUID, datetime]]:
        """(position, {delivery id: due}) as last saved; (0, {}) at first."""
        ...

    def save(self, position: int, changes: Mapping[UUID, datetime | None]) -> None:
        """In one transaction: set each delivery's due time (None: settled, forgotten) and
        move the position forward (never back)."""
        ...

    def close(self) -> None: ...


class MemoryPendingDeliveries:
    """Pending deliveries in memory: a notifier using it re-reads the log at each start."""

    def __init__(self) -> None:
        self.position = 0
        self.due: dict[UUID, datetime] = {}

    def load(self) -> tuple[int, dict[UUID, datetime]]:
        return self.position, dict(self.due)

    def save(self, position: int, changes: Mapping[UUID, datetime | None]) -> None:
        for ident, due in changes.items():
            if due is None:
                self.due.pop(ident, None)
            else:
                self.due[ident] = due
        self.position = max(self.position, position)

    def close(self) -> None:
        pass
