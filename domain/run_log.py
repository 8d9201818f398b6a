"""A run's log: entries batched into events on a stream of their own, one stream per run.

The log threshold is applied before entries get here, by the worker's log sink
(`engine.log_pipeline`), which also counts what it discards; an entry below the threshold
reaching the log is a bug, refused rather than silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.log_level import LogLevel

RUN_LOG_NAMESPACE = uuid5(NAMESPACE_URL, "https://jobledger.dev/ns/run-log")
MAX_MESSAGE_LENGTH = 16 * 1024
# An event holds at most about this many characters of messages; a larger batch is split
# into several events, so no single event (or the transaction saving it) grows unbounded.
MAX_EVENT_CHARS = 1_000_000

# One entry as stored in an event: [sequence number, ISO-8601 UTC time, level, message].
# A list rather than a mapping keeps events compact when thousands share one batch.
Entry = list


def run_log_id(run_id: UUID) -> UUID:
    """The id of a run's log stream, derived from the run's id so neither needs a lookup."""
    return uuid5(RUN_LOG_NAMESPACE, str(run_id))


def format_time(at: datetime) -> str:
    """ISO 8601 in UTC with microseconds. isoformat() is ~20x cheaper than strftime(), which
    matters at a thousand entries per batch."""
    if at.utcoffset():
        at = at.astimezone(UTC)
    return at.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


class RunLog(Aggregate):
    """The log of one run. Holds only counters, so replaying it is cheap."""

    class Opened(Aggregate.Created):
        run_id: UUID
        threshold: str

    class EntriesRecorded(Aggregate.Event):
        entries: list[Entry]

        def apply(self, log: RunLog) -> None:
            log.next_seq = self.entries[-1][0] + 1
            log.entry_count += len(self.entries)

    def __init__(self, *, run_id: UUID, threshold: str) -> None:
        self.run_id = run_id
        self.threshold = threshold
        self.next_seq = 1
        self.entry_count = 0

    def record(self, entries: Iterable[tuple[datetime, LogLevel, str]]) -> int:
        """Append one batch of entries, all at or above the threshold (ValueError otherwise:
        the sink filters, and counts, before). Returns how many were recorded."""
        threshold = LogLevel.parse(self.threshold)
        batch = list(entries)
        # Checked before any event is triggered, so a refused batch leaves the log unchanged.
        below = next((level for _, level, _ in batch if level < threshold), None)
        if below is not None:
            raise ValueError(
                f"log of run {self.run_id}: a {below.name} entry is below the threshold "
                f"{threshold.name}; the worker's sink discards those before recording"
            )
        kept: list[Entry] = []
        chars = 0
        total = 0
        for at, level, message in batch:
            if len(message) > MAX_MESSAGE_LENGTH:
                message = message[: MAX_MESSAGE_LENGTH - 1] + "…"
            if kept and chars + len(message) > MAX_EVENT_CHARS:
                total += self._flush(kept)
                kept, chars = [], 0
            kept.append([self.next_seq + len(kept), format_time(at), int(level), message])
            chars += len(message)
        if kept:
            total += self._flush(kept)
        return total

    def _flush(self, kept: list[Entry]) -> int:
        self.trigger_event(self.EntriesRecorded, entries=kept)
        return len(kept)


def open_log(run_id: UUID, threshold: LogLevel | str) -> RunLog:
    return RunLog._create(
        RunLog.Opened,
        id=run_log_id(run_id),
        run_id=run_id,
        threshold=LogLevel.parse(threshold).name,
    )
