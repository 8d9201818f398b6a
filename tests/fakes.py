"""First-class fakes for unit tests: a clock, an in-memory vault, the in-memory event store and
workers' capability records in memory."""

from __future__ import annotations

import base64
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from uuid import UUID

from adapters.job_types import EntryPointJobTypeCatalog
from application.app import JobLedger
from domain.errors import SecretUnavailable
from engine.ports import Capability
from jobtypes import Availability

# Where a fake clock starts unless told otherwise.
FAKE_CLOCK_START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock that stands still until a test sets it (`clock.at = ...`) or moves it on
    (`clock.advance(seconds)`). Safe to read from the threads of a worker's pool."""

    def __init__(self, at: datetime = FAKE_CLOCK_START) -> None:
        self._at = at
        self._lock = threading.Lock()

    @property
    def at(self) -> datetime:
        with self._lock:
            return self._at

    @at.setter
    def at(self, value: datetime) -> None:
        with self._lock:
            self._at = value

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._at += timedelta(seconds=seconds)


class FakeVault:
    """Reversible, job- and name-bound 'encryption' that keeps values out of plain sight."""

    def __init__(self) -> None:
        self.shredded: set[UUID] = set()

    def encrypt(self, job_id: UUID, name: str, value: str) -> str:
        if job_id in self.shredded:
            raise SecretUnavailable(job_id, name, "its job's data key was destroyed")
        raw = f"{job_id}|{name}|{value}".encode()
        return "fake." + base64.b64encode(bytes(b ^ 0x5A for b in raw)).decode()

    def decrypt(self, job_id: UUID, name: str, ciphertext: str) -> str:
        if job_id in self.shredded:
            raise SecretUnavailable(job_id, name, "its job's data key was destroyed")
        raw = bytes(b ^ 0x5A for b in base64.b64decode(ciphertext[5:])).decode()
        owner, secret, value = raw.split("|", 2)
        assert (owner, secret) == (str(job_id), name), "ciphertext bound to another secret"
        return value

    def shred(self, job_id: UUID) -> None:
        self.shredded.add(job_id)


def in_memory_ledger() -> JobLedger:
    return JobLedger(
        vault=FakeVault(),
        job_types=EntryPointJobTypeCatalog(),
        env={
            "PERSISTENCE_MODULE": "eventsourcing.popo",
            "TRANSCODER_TOPIC": "adapters.orjson_transcoder:OrjsonTranscoder",
            "MAPPER_TOPIC": "adapters.orjson_transcoder:TypedMapper",
        },
    )


class FakeWorkerCapabilities:
    """engine.ports.WorkerCapabilities in memory: every recorded worker counts as live until
    it is forgotten (or a test marks it dead with `forget`)."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Availability]] = {}

    def record(self, worker_id: str, capabilities: Mapping[str, Availability]) -> None:
        self.records[worker_id] = dict(capabilities)

    def live(self) -> list[Capability]:
        return [
            Capability(worker_id, name, found.available, found.reason, found.detail)
            for worker_id, found_by_type in sorted(self.records.items())
            for name, found in sorted(found_by_type.items())
        ]

    def forget(self, worker_id: str) -> None:
        self.records.pop(worker_id, None)

    def close(self) -> None:
        pass
