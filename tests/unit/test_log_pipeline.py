"""The run log sink: threshold at once, masking, batches by size and by time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.log_level import LogLevel
from domain.run_log import open_log
from scheduler.log_pipeline import RunLogSink
from scheduler.redaction import Redactor
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


def test_secrets_are_masked_before_buffering_and_after_clipping():
    sink, recorder, _ = make_sink(secrets=["tok-123456"])
    sink(LogLevel.Error, "failed with tok-123456")
    sink(LogLevel.Info, "x" * 20_000 + "tok-123456")
    sink.close()
    messages = [m for _, _, m in recorder.batches[0]]
    assert messages[0] == "failed with ***"
    assert "tok-123456" not in messages[1]


def test_lines_after_close_are_ignored():
    sink, recorder, _ = make_sink()
    sink.close()
    sink(LogLevel.Info, "late")
    sink.flush()
    assert recorder.batches == []
