"""The run log sink: threshold at once, masking, batches by size and by time."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import NotFound
from domain.log_level import LogLevel
from domain.redaction import Redactor
from domain.run_log import MAX_MESSAGE_LENGTH, open_log
from engine.log_pipeline import RunLogSink
from tests.unit.test_worker import FakeClock

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[tuple[datetime, LogLevel, str]]] = []

    def record_log_entries(self, log, entries):
        batch = list(entries)
        self.batches.append(batch)
        return log.record(batch)


def make_sink(**kwargs):
    recorder, clock = Recorder(), FakeClock(T0)
    threshold = kwargs.pop("threshold", LogLevel.Verbose)
    sink = RunLogSink(
        recorder,
        open_log(__import__("uuid").uuid4(), threshold),
        threshold=threshold,
        redactor=Redactor(kwargs.pop("secrets", [])),
        clock=clock,
        **kwargs,
    )
    return sink, recorder, clock


def test_entries_below_the_threshold_are_dropped_at_once():
    sink, recorder, _ = make_sink(threshold=LogLevel.Warning)
    for level in LogLevel:
        sink(level, level.name)
    sink.close()
    assert [m for _, _, m in recorder.batches[0]] == ["Warning", "Error"]
    assert sink.discarded == 3 and sink.recorded == 2


def test_a_batch_is_written_when_it_reaches_its_size():
    sink, recorder, _ = make_sink(max_entries=3)
    for i in range(7):
        sink(LogLevel.Info, f"line {i}")
    assert [len(b) for b in recorder.batches] == [3, 3]
    sink.close()
    assert [len(b) for b in recorder.batches] == [3, 3, 1]


def test_a_batch_is_written_when_it_reaches_its_character_bound():
    sink, recorder, _ = make_sink(max_chars=10)
    sink(LogLevel.Info, "12345")
    assert recorder.batches == []
    sink(LogLevel.Info, "67890")
    assert len(recorder.batches) == 1


def test_a_batch_is_written_when_its_oldest_entry_has_waited_the_time_bound():
    sink, recorder, clock = make_sink(max_delay=timedelta(milliseconds=200))
    sink(LogLevel.Info, "first")
    clock.advance(0.1)
    sink(LogLevel.Info, "second")
    sink.flush_if_due(clock.now())
    assert recorder.batches == []
    clock.advance(0.1)
    sink.flush_if_due(clock.now())
    assert [[m for _, _, m in b] for b in recorder.batches] == [["first", "second"]]
    assert not sink.due(clock.now() + timedelta(seconds=5))  # nothing left waiting


def test_secrets_are_masked_before_buffering_and_before_clipping():
    sink, recorder, _ = make_sink(secrets=["tok-123456"])
    sink(LogLevel.Error, "failed with tok-123456")
    # The secret straddles the clip: clipped first, its first half would stay readable.
    sink(LogLevel.Info, "x" * (MAX_MESSAGE_LENGTH - 8) + "tok-123456")
    sink(LogLevel.Info, "y" * MAX_MESSAGE_LENGTH + "tok-123456")
    sink.close()
    messages = [m for _, _, m in recorder.batches[0]]
    assert messages[0] == "failed with ***"
    assert messages[1] == "x" * (MAX_MESSAGE_LENGTH - 8) + "***"
    assert len(messages[2]) == MAX_MESSAGE_LENGTH and "tok-" not in messages[2]


def test_lines_after_close_are_ignored():
    sink, recorder, _ = make_sink()
    sink.close()
    sink(LogLevel.Info, "late")
    sink.flush()
    assert recorder.batches == []


def test_after_a_failed_write_the_log_is_reloaded_so_its_stream_stays_whole():
    from tests.fakes import in_memory_ledger

    app = in_memory_ledger()
    job = app.register_job(name="S", job_type="command", program={"argv": ["x"]}, actor="a")
    run = app.start_run(app.request_run(job.id, actor="b").id, worker="w")
    errors: list[BaseException] = []
    sink = RunLogSink(
        app,
        app.open_run_log(run),
        threshold=LogLevel.Info,
        redactor=Redactor([]),
        clock=FakeClock(T0),
        on_error=errors.append,
    )
    sink(LogLevel.Info, "one")
    sink.flush()
    insert = app.recorder.insert_events

    def unreachable(*_args, **_kwargs):
        raise RuntimeError("the store is unreachable")

    app.recorder.insert_events = unreachable
    sink(LogLevel.Info, "lost")
    sink.flush()
    app.recorder.insert_events = insert
    sink(LogLevel.Info, "three")
    sink.flush()
    assert len(errors) == 1
    stored = app.run_log(run.id)  # loads: no gap in the stream
    # The failed batch went back to the buffer and was written with the next one.
    assert stored.entry_count == 3 and stored.next_seq == 4
    events = app.repository.event_store.get(stored.id)
    messages = [entry[-1] for e in events for entry in getattr(e, "entries", [])]
    assert messages == ["one", "lost", "three"]
    assert sink.log is not None and sink.log.version == stored.version
    app.close()


class FailsOnce(Recorder):
    """A writer whose next write fails; with `committed`, after storing it regardless (a
    commit whose answer was lost). `run_log` returns a copy of what it stored."""

    def __init__(self, *, committed: bool = False) -> None:
        super().__init__()
        self.fail_next = False
        self.committed = committed
        self.stored = None

    def record_log_entries(self, log, entries):
        batch = list(entries)
        kept = log.record(batch)
        failing, self.fail_next = self.fail_next, False
        if not failing or self.committed:
            self.batches.append(batch)
            self.stored = copy.deepcopy(log)
        if failing:
            raise RuntimeError("the store is unreachable")
        return kept

    def run_log(self, run_id):
        if self.stored is None:
            raise NotFound("run log", run_id)
        return copy.deepcopy(self.stored)

    @property
    def messages(self) -> list[str]:
        return [m for b in self.batches for _, _, m in b]


def sink_over(writer, **kwargs):
    clock = FakeClock(T0)
    errors: list[BaseException] = []
    sink = RunLogSink(
        writer,
        open_log(__import__("uuid").uuid4(), LogLevel.Verbose),
        threshold=LogLevel.Verbose,
        redactor=Redactor([]),
        clock=clock,
        on_error=errors.append,
        **kwargs,
    )
    return sink, clock, errors


def test_a_batch_whose_write_failed_is_written_by_the_next_flush():
    writer = FailsOnce()
    sink, clock, errors = sink_over(writer)
    sink(LogLevel.Info, "first")
    sink.flush()
    writer.fail_next = True
    sink(LogLevel.Info, "second")
    sink.flush()
    assert len(errors) == 1 and writer.messages == ["first"]
    assert not sink.due(clock.now())  # not retried on every tick of the flusher
    clock.advance(1)
    sink(LogLevel.Info, "third")
    sink.flush_if_due(clock.now())
    assert [[m for _, _, m in b] for b in writer.batches] == [["first"], ["second", "third"]]
    assert writer.stored.entry_count == 3 and writer.stored.next_seq == 4
    assert sink.dropped == 0


def test_a_failed_write_that_was_stored_after_all_is_not_written_twice():
    writer = FailsOnce(committed=True)
    sink, _, errors = sink_over(writer)
    sink(LogLevel.Info, "first")
    sink.flush()
    writer.fail_next = True
    sink(LogLevel.Info, "second")
    sink.flush()
    sink(LogLevel.Info, "third")
    sink.flush()
    assert len(errors) == 1
    assert [[m for _, _, m in b] for b in writer.batches] == [["first"], ["second"], ["third"]]
    assert writer.stored.entry_count == 3


def test_what_a_failed_write_puts_back_is_bounded_by_half_the_batch_limits():
    writer = FailsOnce()
    sink, _, _ = sink_over(writer, max_entries=4)
    writer.fail_next = True
    for i in range(4):  # the fourth line fills the batch, whose write fails
        sink(LogLevel.Info, f"line {i}")
    assert sink.dropped == 2
    sink.close()
    assert [m for _, _, m in writer.batches[-1]] == ["line 0", "line 1"]


@pytest.mark.parametrize("committed", [False, True])
def test_the_last_entries_handed_to_the_runs_end_hold_a_failed_batch_once(committed):
    writer = FailsOnce(committed=committed)
    sink, _, _ = sink_over(writer)
    sink(LogLevel.Info, "first")
    sink.flush()
    writer.fail_next = True
    sink(LogLevel.Info, "second")
    sink.flush()
    sink(LogLevel.Info, "last")
    log = sink.log  # brought in line with the store, as the worker does before `drain`
    assert [m for _, _, m in sink.drain()] == (["last"] if committed else ["second", "last"])
    assert log is not None and log.version == writer.stored.version


def test_past_the_runs_log_limit_entries_are_counted_not_stored():
    sink, recorder, _ = make_sink(max_log_chars=100)
    for i in range(25):
        sink(LogLevel.Info, f"line {i:04}")  # 9 characters each: 11 fit in 100
    last = sink.drain()
    stored = [m for batch in recorder.batches for _, _, m in batch] + [m for _, _, m in last]
    assert stored[:11] == [f"line {i:04}" for i in range(11)]
    assert stored[11].startswith("log truncated after 11 entries")
    assert stored[12:] == ["14 entries after the log's limit were not stored"]
    assert sink.truncated == 14
    assert sum(len(m) for m in stored[:11]) <= 100
