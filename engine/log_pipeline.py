"""From an executor's log lines to a run's log events: threshold, redaction, batching.

The sink an executor writes to is the one place the run's log threshold is applied: entries
below it are counted and dropped at once (they never leave the worker, as the product
promises; the count goes on the run's final event), and nothing downstream filters again.
An executor's child process may skip such entries early, but only to save work. The sink
masks the job's secrets and buffers the rest.
A batch is recorded as one log event when it grows past a size bound, or when its oldest
entry has waited a short time bound, so a live viewer sees a line within a second and a
chatty program still writes a few events a second rather than one per line.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypedDict

from application.ports import Clock
from domain.errors import NotFound
from domain.log_level import LogLevel
from domain.redaction import Redactor
from domain.run_log import MAX_MESSAGE_LENGTH, RunLog, open_log
from engine.ports import LogEntry, LogWriter

# A batch is written when it holds this many entries or this many characters...
MAX_BATCH_ENTRIES = 1_000
MAX_BATCH_CHARS = 512 * 1024
# ...or when its oldest entry has waited this long.
MAX_BATCH_DELAY = timedelta(milliseconds=200)
# A run's log keeps at most this many characters of messages (about 100 MB); past it,
# entries are counted, not stored, so one runaway program cannot fill the store's disk.
MAX_LOG_CHARS = 100 * 1024 * 1024

Entry = LogEntry


class LogBatchLimits(TypedDict, total=False):
    """Overrides of a sink's batch bounds (tests and benchmarks tune them)."""

    max_entries: int
    max_chars: int
    max_delay: timedelta
    max_log_chars: int


class RunLogSink:
    """The `LogSink` of one run. Thread-safe: an executor may log from several threads."""

    def __init__(
        self,
        writer: LogWriter,
        log: RunLog,
        *,
        threshold: LogLevel,
        redactor: Redactor,
        clock: Clock,
        max_entries: int = MAX_BATCH_ENTRIES,
        max_chars: int = MAX_BATCH_CHARS,
        max_delay: timedelta = MAX_BATCH_DELAY,
        max_log_chars: int = MAX_LOG_CHARS,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._writer = writer
        self._log = log
        self.threshold = threshold
        self._redactor = redactor
        self._clock = clock
        self._max_entries = max_entries
        self._max_chars = max_chars
        self._max_delay = max_delay
        self._on_error = on_error
        self._pending: list[Entry] = []
        self._chars = 0
        self._oldest: datetime | None = None
        self._closed = False
        # A failed write leaves the log aggregate moved on in memory (version, next seq)
        # without its event; written on from there, the stream would have a gap and could
        # no longer be loaded. So after a failure the log is reloaded before the next write.
        self._stale = False
        self._failed_version = 0
        # How many entries at the front of the buffer are a failed batch put back.
        self._retrying = 0
        # Buffer and write under separate locks: a line logged while a batch is being written
        # waits only for the buffer, and batches reach the store in order.
        self._buffer_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.recorded = 0
        # Entries below the threshold, dropped here; recorded on the run's final event.
        self.discarded = 0
        self.dropped = 0  # entries of failed batches beyond what is kept to retry
        # The log cap: characters kept so far, and entries counted but not stored past it.
        self._max_log_chars = max_log_chars
        self._kept_chars = 0
        self._kept_entries = 0
        self.truncated = 0

    def __call__(self, level: LogLevel, message: str, at: datetime | None = None) -> None:
        if self._closed:
            return
        if level < self.threshold:
            with self._buffer_lock:  # an executor may log from several threads
                self.discarded += 1
            return
        # Mask before clipping: a secret that straddles the clip would otherwise be cut in
        # half and its first half no longer match the mask. Clipped here, not by the store,
        # so the store never cuts a message after it was masked.
        message = self._redactor.redact(message)
        if len(message) > MAX_MESSAGE_LENGTH:
            message = message[: MAX_MESSAGE_LENGTH - 1] + "…"
        now = at or self._clock.now()
        with self._buffer_lock:
            if self.truncated or self._kept_chars + len(message) > self._max_log_chars:
                if not self.truncated:
                    self._pending.append((now, LogLevel.Warning, self._truncation_notice()))
                self.truncated += 1
                return
            self._kept_chars += len(message)
            self._kept_entries += 1
            self._pending.append((now, level, message))
            self._chars += len(message)
            if self._oldest is None:
                self._oldest = now
            full = len(self._pending) >= self._max_entries or self._chars >= self._max_chars
        if full:
            self.flush()

    def _truncation_notice(self) -> str:
        megabytes = self._max_log_chars / (1024 * 1024)
        return (
            f"log truncated after {self._kept_entries} entries: the run's log reached its "
            f"limit of {megabytes:g} MB of messages; later entries are counted, not stored"
        )

    def due(self, now: datetime) -> bool:
        """Whether the oldest buffered entry has waited the time bound."""
        oldest = self._oldest
        return oldest is not None and now - oldest >= self._max_delay

    def flush_if_due(self, now: datetime) -> None:
        if self.due(now):
            self.flush()

    def flush(self) -> None:
        """Write what is buffered as one batch (the store splits an oversized one). A batch
        whose write fails goes back to the front of the buffer for the next flush."""
        with self._write_lock:
            with self._buffer_lock:
                batch, self._pending = self._pending, []
                self._chars = 0
                self._oldest = None
            if not batch:
                return
            attempted = False
            try:
                if self._reload_if_stale():
                    # The failed write reached the store after all (it failed on the commit's
                    # answer, say): its entries, still at the front, are not written twice.
                    batch = batch[self._retrying :]
                self._retrying = 0
                if batch:
                    attempted = True
                    self.recorded += self._writer.record_log_entries(self._log, batch)
            except Exception as error:  # the run goes on; its outcome says what happened
                self._stale = True
                if attempted:
                    self._failed_version = self._log.version
                    self._retrying = len(batch)
                # else the reload failed: the front is still the batch that failed before.
                self._put_back(batch)
                if self._on_error is None:
                    raise
                self._on_error(error)

    def _put_back(self, batch: list[Entry]) -> None:
        """Return a batch whose write failed to the front of the buffer. Bounded by half the
        batch limits (its oldest entries kept, the rest counted in `dropped`), so an outage
        neither grows the buffer without end nor turns every new line into a write."""
        kept: list[Entry] = []
        chars = 0
        for entry in batch:
            if len(kept) >= self._max_entries // 2 or chars + len(entry[2]) > self._max_chars // 2:
                break
            kept.append(entry)
            chars += len(entry[2])
        self.dropped += len(batch) - len(kept)
        self._retrying = min(self._retrying, len(kept))
        with self._buffer_lock:
            self._pending[:0] = kept
            self._chars += chars
            if kept:
                # Tried again after the time bound from now, not on every flush tick.
                self._oldest = self._clock.now()

    def _reload_if_stale(self) -> bool:
        """Bring the log in line with the store after a failed write. True if that write
        was stored after all (the store holds the version it would have made)."""
        if not self._stale:
            return False
        try:
            self._log = self._writer.run_log(self._log.run_id)
        except NotFound:  # not even the stream's first event was stored
            self._log = open_log(self._log.run_id, self._log.threshold)
            self._stale = False
            return False
        self._stale = False
        return self._log.version >= self._failed_version

    @property
    def log(self) -> RunLog | None:
        """The log to write the last entries with; None if it cannot be brought in line
        with the store (those entries are then lost, but the run still ends)."""
        with self._write_lock:
            try:
                stored = self._reload_if_stale()
            except Exception:
                return None
            with self._buffer_lock:
                if stored:  # see `flush`: the put-back entries are in the store already
                    del self._pending[: self._retrying]
                self._retrying = 0
            return self._log

    def close(self) -> None:
        """Write the rest; later lines are ignored."""
        self._closed = True
        self.flush()

    def drain(self) -> list[Entry]:
        """Close the sink and return what it still buffers, for the caller to record with
        the run's final event (one transaction instead of two). Later lines are ignored."""
        with self._write_lock:
            self._closed = True
            with self._buffer_lock:
                batch, self._pending = self._pending, []
                self._chars = 0
                self._oldest = None
                if self.truncated:
                    notice = f"{self.truncated} entries after the log's limit were not stored"
                    batch.append((self._clock.now(), LogLevel.Warning, notice))
        return batch
