"""The run log sink: threshold at once, masking, batches by size and by time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.log_level import LogLevel
from domain.run_log import MAX_MESSAGE_LENGTH, open_log
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
    assert stored.entry_count == 2 and stored.next_seq == 3
    assert sink.log is not None and sink.log.version == stored.version
    app.close()
