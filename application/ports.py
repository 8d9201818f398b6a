"""Ports the application needs from the outside world; adapters implement them."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from domain.access import Principal


class Clock(Protocol):
    """Where the current time comes from, so tests can run years of schedule in milliseconds."""

    def now(self) -> datetime:
        """An aware datetime in UTC."""
        ...


class SecretVault(Protocol):
    """Envelope encryption of job secrets.

    Each job has its own data key, wrapped by the master key. Ciphertexts are opaque ASCII
    strings (safe to put in events) bound to their job and secret name: a ciphertext copied
    to another job or name does not decrypt.
    """

    def encrypt(self, job_id: UUID, name: str, value: str) -> str:
        """Encrypt `value` under the job's data key, creating that key on first use."""
        ...

    def decrypt(self, job_id: UUID, name: str, ciphertext: str) -> str:
        """Only the engine calls this, at run time. Raises SecretUnavailable once shredded."""
        ...

    def shred(self, job_id: UUID) -> None:
        """Destroy the job's data key, so its secrets are unreadable even from history."""
        ...


class JobTypeCatalog(Protocol):
    """The job types this installation knows, each with a JSON Schema for its `program`."""

    def names(self) -> list[str]: ...

    def describe(self) -> list[dict[str, Any]]:
        """Each type's name, description and program JSON Schema, by name."""
        ...

    def check_program(self, job_type: str, program: object) -> dict[str, Any]:
        """Return the program if valid; raise InvalidInput naming the field at fault if not."""
        ...

    def check_overrides(
        self,
        job_type: str,
        program: dict[str, Any],
        own: dict[str, Any],
        effective: dict[str, Any],
    ) -> None:
        """Refuse (NotPermitted) overridden parameters that would make the program send the
        job's secrets elsewhere than its own parameters do; a job type without such a rule
        accepts any."""
        ...


class TokenStore(Protocol):
    """API tokens: who may call the HTTP API and the web pages, and with which role. Only a
    token's hash is kept; the plain token is shown once, by `create`."""

    def create(self, name: str, role: str) -> tuple[Principal, str]:
        """A new token: (its principal, the plain token, to show once and never again)."""
        ...

    def verify(self, plain: str) -> Principal | None:
        """The principal of a live token, or None (unknown, revoked or malformed)."""
        ...

    def identify(self, plain: str) -> Principal | None:
        """The principal of a token this store issued, live or revoked, or None: to name
        who tried a revoked token on the audit trail. Never to authenticate."""
        ...

    def verify_cached(self, plain: str) -> Principal | None:
        """`verify` from memory only (None when not recently verified): no I/O, so an event
        loop may call it."""
        ...

    def get(self, token_id: str) -> Principal | None:
        """The principal of a live token by its id (for sessions), or None if revoked."""
        ...

    def list(self) -> list[dict[str, Any]]:
        """Every token, revoked ones included, oldest first: never a hash or a token."""
        ...

    def revoke(self, token_id_or_name: str) -> bool:
        """Revoke the live token with this id, or else with this name. False if none."""
        ...

    def has_admin(self) -> bool: ...

    def close(self) -> None: ...


class Wakeup(Protocol):
    """What the scheduler and worker loops sleep on: set by a save in this process
    (ThreadWakeup) or by PostgreSQL's NOTIFY from another (adapters.pg_wakeup). The
    projection follower sleeps on one too."""

    def wait(self, timeout: float) -> None: ...

    def set(self) -> None: ...


class ThreadWakeup:
    """A wake-up within one process."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def wait(self, timeout: float) -> None:
        self._event.wait(timeout)
        self._event.clear()

    def set(self) -> None:
        self._event.set()


@dataclass(frozen=True)
class RetentionCandidate:
    """A finished run the retention sweep looks at (from the runs view)."""

    run_id: UUID
    finished_at: datetime
    log_purged: bool


class RetentionStore(Protocol):
    """What the retention sweep needs of the store: finding due runs, deleting a run's log
    physically (events and view rows), giving space back, and the figures for /metrics."""

    def job_ids(self) -> list[UUID]:
        """Every job with a finished run in the runs view."""
        ...

    def candidates(
        self, job_id: UUID, *, log_before: datetime, run_before: datetime, limit: int
    ) -> list[RetentionCandidate]:
        """The job's finished runs whose log is kept and finished before `log_before`, or
        that finished before `run_before`; oldest first, at most `limit`."""
        ...

    def newest_finished(self, job_id: UUID, count: int) -> set[UUID]:
        """The ids of the job's `count` most recently requested finished runs."""
        ...

    def count_log(self, run_id: UUID) -> int:
        """How many log entries of the run the logs view holds."""
        ...

    def log_settled(self, run_id: UUID) -> bool:
        """Whether the run's log may be read whole from the logs view and deleted now: the
        view has processed the whole stream (and the store allows its deletion)."""
        ...

    def mark_purge(self, run_id: UUID, entries: int) -> None:
        """Record durably, before `Run.LogPurged` is saved, that the run's log (`entries`
        long) is about to go: a sweep that dies between the event and the deletion leaves
        the mark, and a later sweep finishes the deletion (`pending_purges`). A mark the run
        already has is kept as it is."""
        ...

    def pending_purges(self) -> list[UUID]:
        """The runs marked by `mark_purge` whose deletion has not finished."""
        ...

    def purge_log(self, run_id: UUID) -> int | None:
        """Delete the run's log stream from the event store and its entries from the logs
        view, and close its mark (counting the marked entries as purged, once, whichever of
        two racing sweeps closes it); returns how
        many entries went now, or None when it is not safe yet (the logs view has not
        processed the whole stream) and a later sweep should try again. Idempotent: a
        second call, or one after a crash half-way, deletes what is left."""
        ...

    def reclaim(self) -> None:
        """Give the space freed by a sweep back (where the store needs to be asked)."""
        ...

    def store_bytes(self) -> int:
        """How many bytes the store takes."""
        ...

    def purged_entries(self) -> int:
        """How many log entries retention has deleted from this store, ever."""
        ...

    def log_page(self, run_id: UUID, after: int, limit: int) -> list[tuple[int, str, int, str]]:
        """The logs view's entries of the run with seq > `after`, in seq order, at most
        `limit`: (seq, ISO-8601 time, level number, message)."""
        ...

    def close(self) -> None: ...


class LogArchive(Protocol):
    """Where the retention sweep keeps a copy of each log before deleting it."""

    def write(self, run_id: UUID, lines: Iterable[str]) -> int:
        """Store the log's lines durably (replacing a partial earlier copy); its size."""
        ...
