"""Where wrapped job data keys live: the envelope vault's own seam (adapters.secret_vault and
adapters.key_rotation use it; the application never sees it), and the contract every
backend meets.

Backends: `adapters.data_keys_sqlite.SQLiteDataKeyStore` and
`adapters.data_keys_postgres.PostgresDataKeyStore`, both over the table
`jobledger_data_keys`. A row holds a job's data key wrapped under the master key, never
the key itself. Shredding keeps the row as a tombstone (wrapped key NULL, `shredded_at`
set) so the job cannot quietly get a fresh key afterwards.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from uuid import UUID

TABLE_NAME = "jobledger_data_keys"


@dataclass(frozen=True)
class WrappedKey:
    """One row: a job's wrapped data key, or the tombstone left when it was shredded."""

    job_id: UUID
    # Encrypted, but still kept out of reprs: it is key material all the same.
    wrapped: bytes | None = field(repr=False)
    master_key_id: str | None
    created_at: datetime
    shredded_at: datetime | None = None

    @property
    def shredded(self) -> bool:
        return self.wrapped is None


class DataKeyStore(ABC):
    """Stores wrapped data keys, one per job. Every method is safe across processes."""

    @abstractmethod
    def create_table(self) -> None:
        """Create the table if it is missing (idempotent, safe to race)."""

    @abstractmethod
    def get(self, job_id: UUID) -> WrappedKey | None:
        """The job's row (live or shredded), or None if it never had a key."""

    @abstractmethod
    def create_if_absent(self, job_id: UUID, wrapped: bytes, master_key_id: str) -> WrappedKey:
        """Store `wrapped` unless the job already has a row; return the row that won.

        Two processes racing here both get the same row back. The result may be a
        shredded tombstone, which the caller must refuse to use.
        """

    @abstractmethod
    def destroy(self, job_id: UUID) -> None:
        """Erase the job's wrapped key and mark it shredded (idempotent).

        Leaves a tombstone even for a job that never had a key, so none is made later.
        """

    @abstractmethod
    def all(self) -> Iterator[WrappedKey]:
        """Every row, live and shredded, in job-id order, read a page at a time."""

    @abstractmethod
    def replace_wrapped(
        self,
        job_id: UUID,
        wrapped: bytes,
        master_key_id: str,
        *,
        expected_master_key_id: str | None = None,
    ) -> bool:
        """Rewrap a live key (rotation). False if the row is gone, shredded, or, when
        `expected_master_key_id` is given, no longer under that master key."""

    def close(self) -> None:
        """Release connections. The store is unusable afterwards."""
        return None  # nothing to release unless a backend holds connections

    def __enter__(self) -> DataKeyStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
