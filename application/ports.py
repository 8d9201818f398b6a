"""Ports the application needs from the outside world; adapters implement them."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID


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

    def check_program(self, job_type: str, program: object) -> dict[str, Any]:
        """Return the program if valid; raise InvalidInput naming the field at fault if not."""
        ...


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
