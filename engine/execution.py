"""Running one claimed run, its timeout and cancel, and recording how it ended.

Each claimed run executes in a pool thread through the job type's `Executor`, with a
`RunLogSink` (threshold, redaction, batching) and a `StopSignal` the loop sets on timeout or
cancel. The outcome becomes the run's last event; a failure, timeout or abandonment whose
job allows retries requests the next attempt in the same transaction. Ends of runs that
finish together are saved in one transaction (`engine.endings`); one that cannot be saved
as the worker holds it is recorded from the store, a few tries while the store is away.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from application.app import JobLedger
from application.ports import Clock
from application.run_commands import Ending, RunEnding
from domain.errors import Conflict, NotFound
from domain.job import Job
from domain.log_level import LogLevel
from domain.redaction import Redactor
from domain.run import Run
from engine.active_runs import Active, ActiveRuns, StopReason
from engine.board import RunBoard
from engine.endings import EndingBatcher
from engine.job_cache import JobCache
from engine.log_pipeline import LogBatchLimits, RunLogSink
from jobtypes import Execution, Executor, Outcome, StopSignal

logger = logging.getLogger("jobledger.worker")

# Waits between tries to record a run's end while the store is unreachable (about half a
# minute in all); tests shorten them.
RECORD_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 10.0)


class RunExecutions:
    """Executes claimed runs, one per pool thread, and hands their ends to the batcher."""

    def __init__(
        self,
        app: JobLedger,
        *,
        worker_id: str,
        executor_for: Callable[[str], Executor],
        clock: Clock,
        active: ActiveRuns,
        board: RunBoard,
        jobs: JobCache,
        endings: EndingBatcher,
        log_batch: LogBatchLimits,
    ) -> None:
        self._app = app
        self._worker_id = worker_id
        self._executor_for = executor_for
        self._clock = clock
        self._active = active
        self._board = board
        self._jobs = jobs
        self._endings = endings
        self._log_batch = log_batch

    def execute_safely(self, run: Run) -> None:
        """Execute a claimed run and record its end; the run's slot is freed whatever happens."""
        try:
            self._execute(run)
        except Exception:
            logger.exception("worker %s: run %s failed in the worker", self._worker_id, run.id)
        finally:
            self._active.release(run.id)

    def _execute(self, run: Run) -> None:
        active = self._mark_running(run)
        redactor = Redactor(())
        sink: RunLogSink | None = None
        try:
            job = self._jobs.get(run.job_id, run.job_version)
            secrets = self._app.secrets_for_run(run, job)
            redactor = Redactor(secrets.values())
            executor = self._executor_for(run.job_type)
        except Exception as error:
            # A job deleted since (its secrets shredded), an unknown job type, the store
            # unreachable: nothing to run, and the run must still end.
            outcome = Outcome(exit_code=None, error=f"cannot run: {error}")
        else:
            sink = self._open_sink(run, redactor)
            with self._active.lock:
                active.sink = sink
            outcome = self._run_program(run, job, secrets, executor, sink, active.stop)
        ending = self._ending(run, outcome, active.stop, redactor)
        if sink is not None:
            # The last entries go with the run's final event, before it: a viewer that sees
            # the run end has its whole log.
            ending.log, ending.entries = sink.log, sink.drain()
            ending.discarded_entries = sink.discarded
        self._endings.record(ending)

    def _mark_running(self, run: Run) -> Active:
        """The run is ours: note it running on the board, and set its deadline."""
        started = self._clock.now()
        with self._active.lock:
            active = self._active.get(run.id)
            assert active is not None, "a run is held before it is executed"
            active.claimed = True
            if run.timeout_seconds:
                active.deadline = started + timedelta(seconds=run.timeout_seconds)
            board_run = self._board.mark_running(run.id, self._worker_id)
            if board_run is not None and board_run.cancel_requested:
                active.stop.stop(StopReason.CANCEL)
        return active

    def _open_sink(self, run: Run, redactor: Redactor) -> RunLogSink:
        worker_id = self._worker_id
        return RunLogSink(
            self._app,
            self._app.open_run_log(run),
            threshold=LogLevel.parse(run.log_level),
            redactor=redactor,
            clock=self._clock,
            on_error=lambda e: logger.error(
                "worker %s: run %s: a log batch was lost: %s", worker_id, run.id, e
            ),
            **self._log_batch,
        )

    def _run_program(
        self,
        run: Run,
        job: Job,
        secrets: dict[str, str],
        executor: Executor,
        sink: RunLogSink,
        stop: StopSignal,
    ) -> Outcome:
        execution = Execution(
            run_id=run.id,
            job_id=run.job_id,
            job_name=run.job_name,
            job_type=run.job_type,
            program=job.program,
            parameters=run.parameters,
            secrets=secrets,
            log_level=LogLevel.parse(run.log_level),
            timeout_seconds=run.timeout_seconds,
            attempt=run.attempt,
        )
        if stop.is_set():
            # Cancelled while being claimed: never start the program.
            return Outcome(exit_code=None, error="stopped before it started")
        try:
            return executor.execute(execution, sink, stop)
        except Exception as error:  # an executor bug fails the run, not the worker
            logger.exception("worker %s: executor failed on run %s", self._worker_id, run.id)
            return Outcome(exit_code=None, error=f"{type(error).__name__}: {error}")

    def _ending(
        self, run: Run, outcome: Outcome, stop: StopSignal, redactor: Redactor
    ) -> RunEnding:
        """The outcome, as the run's final event: a stop's reason wins over the outcome."""
        match stop.reason:
            case StopReason.TIMEOUT:
                return RunEnding(run, Ending.TIMED_OUT)
            case StopReason.CANCEL:
                return RunEnding(run, Ending.CANCELLED)
            case StopReason.SHUTDOWN:
                because = f"worker {self._worker_id} shut down before the run finished"
                return RunEnding(run, Ending.ABANDONED, error=because)
            case StopReason.ENDED_ELSEWHERE:
                return RunEnding(run, None)
            case StopReason.FENCED:
                because = (
                    f"worker {self._worker_id} lost touch with the store and stopped the run "
                    "before its lease ran out, so that no other worker runs it twice"
                )
                return RunEnding(run, Ending.ABANDONED, error=because)
        if outcome.exit_code == 0 and not outcome.error:
            return RunEnding(run, Ending.SUCCEEDED, exit_code=0)
        error = redactor.redact_optional(outcome.error) or f"exited with code {outcome.exit_code}"
        return RunEnding(run, Ending.FAILED, exit_code=outcome.exit_code, error=error)


class EndRecorder:
    """Saves run endings: together as the worker holds the runs, or one by one from the store."""

    def __init__(
        self, app: JobLedger, *, worker_id: str, clock: Clock, stopping: threading.Event
    ) -> None:
        """`stopping` is set when the worker stops: retries against an absent store end."""
        self._app = app
        self._worker_id = worker_id
        self._clock = clock
        self._stopping = stopping
        self.retry_delays: tuple[float, ...] = RECORD_RETRY_DELAYS

    def save_together(self, endings: list[RunEnding]) -> None:
        """Save endings in one transaction, all or nothing (Conflict if one cannot be)."""
        if any(e.ending is None or (e.log is None and e.entries) for e in endings):
            # Ended elsewhere, or last entries whose log must be loaded from the store.
            raise Conflict("a run in the batch must be recorded on its own")
        self._app.end_runs(endings, retry_now=self._clock.now())

    def save_alone(self, ending: RunEnding, fresh: bool) -> None:
        """Record one ending: as the worker holds the run if it can (`fresh`: its aggregates
        still hold their pending events), else from the store."""
        if fresh and ending.ending is not None and (ending.log is not None or not ending.entries):
            try:
                self._app.end_runs([ending], retry_now=self._clock.now())
                return
            except Conflict:
                pass  # the run moved on (a cancel request?): record it from the store
            except Exception:
                # The store failed (perhaps after committing): record it from the store,
                # which tells whether it is there already.
                logger.warning(
                    "worker %s: saving the end of run %s failed; trying from the store",
                    self._worker_id,
                    ending.run.id,
                    exc_info=True,
                )
        if self._record_last_entries(ending) and ending.ending is not None:
            self._record_end(ending)

    def _record_last_entries(self, ending: RunEnding) -> bool:
        """Write the ending's last log entries from the store, unless the run already ended
        as this ending says: entries and final event are saved in one transaction, so a
        save that failed after its commit left both stored. A few tries while the store is
        unreachable. Returns whether the final event is still to be recorded."""
        run_id = ending.run.id
        for delay in (*self.retry_delays, None):
            try:
                if ending.ending is not None:
                    stored = self._app.get_run(run_id)
                    # `ending.run` took the ending's status when the save was attempted; a
                    # run ended otherwise (a reaper) still gets these last lines.
                    if stored.is_finished and stored.status == ending.run.status:
                        logger.info(
                            "worker %s: the end of run %s was stored", self._worker_id, run_id
                        )
                        return False
                if ending.entries:
                    try:
                        log = self._app.run_log(run_id)
                    except NotFound:
                        log = self._app.open_run_log(ending.run)
                    self._app.record_log_entries(log, ending.entries)
                return True
            except Exception:
                logger.exception(
                    "worker %s: recording the last lines of run %s", self._worker_id, run_id
                )
                if delay is None or self._stopping.wait(delay):
                    break
        # The lines are lost; the run's end is still worth its own tries.
        logger.error(
            "worker %s: could not record the last lines of run %s", self._worker_id, run_id
        )
        return True

    def _record_end(self, ending: RunEnding) -> None:
        """The run's final event on the run as stored: a few tries if a cancel request lands
        at the same moment and moves its version, or while the store is unreachable."""
        run_id = ending.run.id
        now = self._clock.now()
        for delay in (*self.retry_delays, None):
            try:
                self._app.end_run(ending, retry_now=now)
                return
            except Conflict:
                if self._app.get_run(run_id).is_finished:
                    logger.warning("worker %s: run %s was ended elsewhere", self._worker_id, run_id)
                    return
            except Exception:
                # The store is unreachable: try again for about half a minute, else the run
                # stays running under our (live) id until this worker stops.
                logger.exception("worker %s: recording the end of run %s", self._worker_id, run_id)
                if delay is None or self._stopping.wait(delay):
                    break
        logger.error("worker %s: could not record the end of run %s", self._worker_id, run_id)
