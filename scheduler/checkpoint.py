"""The scheduler's durable watermark: up to which instant every slot has been recorded.

The store-backed checkpoints are adapters (`adapters/scheduler_checkpoint.py`); the one here
keeps it in memory.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Checkpoint(Protocol):
    """The durable watermark: every slot at or before it has been recorded."""

    def load(self) -> datetime | None: ...

    def save(self, handled_until: datetime) -> None:
        """Move the watermark forward (never back), after a batch has committed."""
        ...


class MemoryCheckpoint:
    """A checkpoint in memory: for unit tests, and for a scheduler that never restarts."""

    def __init__(self, handled_until: datetime | None = None) -> None:
        self.handled_until = handled_until

    def load(self) -> datetime | None:
        return self.handled_until

    def save(self, handled_until: datetime) -> None:
        if self.handled_until is None or handled_until > self.handled_until:
            self.handled_until = handled_until
