"""Running one claimed run: its executor, its log sink, its timeout and cancel, its end.

Each claimed run executes in a pool thread through the job type's `Executor`, with a
`RunLogSink` (threshold, redaction, batching) and a `StopSignal` the loop sets on timeout or
cancel. The outcome becomes the run's last event; a failure, timeout or abandonment whose
job allows retries requests the next attempt in the same transaction. Ends of runs that
finish together are saved in one transaction (`worker_endings`); one that cannot be saved
as the worker holds it is recorded from the store, a few tries while the store is away.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from application.run_commands import RunEnding
from domain.errors import Conflict, NotFound
from domain.log_level import LogLevel
from domain.redaction import Redactor
from domain.run import Run
from engine.log_pipeline import RunLogSink
from engine.worker_state import SHUTDOWN, WorkerState
from jobtypes import Execution, Outcome, StopSignal

logger = logging.getLogger("jobledger.worker")


class WorkerExecution(WorkerState):
    """Executes claimed runs and records how they ended."""

    def _execute_safely(self, run: Run) -> None:
        try:
            self._execute(run)
        except Exception:
            logger.exception("worker %s: run %s failed in the worker", self.id, run.id)
        finally:
            self._release(run.id)

    def _execute(self, run: Run) -> None:
        started = self.clock.now()
        with self._lock:
            active = self._active[run.id]
            active.claimed = True
            if run.timeout_seconds:
                active.deadline = started + timedelta(seconds=run.timeout_seconds)
            board_run = self.board.runs.get(run.id)
            if board_run is not None:
                board_run.status, board_run.worker = "running", self.id
                board_run.request = None
                if board_run.cancel_requested:
                    active.stop.stop("cancel")
        redactor = Redactor(())
        outcome: Outcome
        sink: RunLogSink | None = None
        try:
            job = self._job(run.job_id, run.job_version)
            secrets = self.app.secrets_for_run(run, job)
            redactor = Redactor(secrets.values())
            executor = self.executor_for(run.job_type)
        except Exception as error:
            # A job deleted since (its secrets shredded), an unknown job type, the store
            # unreachable: nothing to run, and the run must still end.
            outcome = Outcome(exit_code=None, error=f"cannot run: {error}")
        else:
            sink = RunLogSink(
                self.app,
                self.app.open_run_log(run),
                threshold=LogLevel.parse(run.log_level),
                redactor=redactor,
                clock=self.clock,
                on_error=lambda e: logger.error(
                    "worker %s: run %s: a log batch was lost: %s", self.id, run.id, e
                ),
                **self.log_batch,
            )
            with self._lock:
                active.sink = sink
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
            try:
                if active.stop.is_set():
                    # Cancelled while being claimed: never start the program.
                    outcome = Outcome(exit_code=None, error="stopped before it started")
                else:
                    outcome = executor.execute(execution, sink, active.stop)
            except Exception as error:  # an executor bug fails the run, not the worker
                logger.exception("worker %s: executor failed on run %s", self.id, run.id)
                outcome = Outcome(exit_code=None, error=f"{type(error).__name__}: {error}")
        ending = self._ending(run, outcome, active.stop, redactor)
        if sink is not None:
            # The last entries go with the run's final event, before it: a viewer that sees
            # the run end has its whole log.
            ending.log, ending.entries = sink.log, sink.drain()
        self._endings.record(ending)

    def _ending(
        self, run: Run, outcome: Outcome, stop: StopSignal, redactor: Redactor
    ) -> RunEnding:
        """The outcome, as the run's final event."""
        reason = stop.reason
        if reason == "timeout":
            return RunEnding(run, "time_out", retry=True)
        if reason == "cancel":
            return RunEnding(run, "confirm_cancelled")
        if reason == SHUTDOWN:
            because = f"worker {self.id} shut down before the run finished"
            return RunEnding(run, "abandon", (because,), retry=True)
        if reason == "abandoned":
            return RunEnding(run, "")  # someone else already recorded its end
        if outcome.exit_code == 0 and not outcome.error:
            return RunEnding(run, "succeed", (0,))
        error = redactor.redact_optional(outcome.error) or f"exited with code {outcome.exit_code}"
        return RunEnding(run, "fail", (outcome.exit_code, error), retry=True)

    def _save_endings(self, endings: list[RunEnding]) -> None:
        if any(not e.method or (e.log is None and e.entries) for e in endings):
            # Ended elsewhere, or last entries whose log must be loaded from the store.
            raise Conflict("a run in the batch must be recorded on its own")
        self.app.end_runs(endings, retry_now=self.clock.now())

    def _save_ending(self, ending: RunEnding, fresh: bool) -> None:
        """Record one ending: as the worker holds the run if it can, else from the store."""
        if fresh and ending.method and (ending.log is not None or not ending.entries):
            try:
                self.app.end_runs([ending], retry_now=self.clock.now())
                return
            except Conflict:
                pass  # the run moved on (a cancel request?): record it from the store
            except Exception:
                # The store failed (perhaps after committing): record it from the store,
                # which tells whether it is there already.
                logger.warning(
                    "worker %s: saving the end of run %s failed; trying from the store",
                    self.id,
                    ending.run.id,
                    exc_info=True,
                )
        if self._record_last_entries(ending) and ending.method:
            self._record(ending)

    def _record_last_entries(self, ending: RunEnding) -> bool:
        """Write the ending's last log entries from the store, unless the run already ended
        as this ending says: entries and final event are saved in one transaction, so a
        save that failed after its commit left both stored. A few tries while the store is
        unreachable. Returns whether the final event is still to be recorded."""
        run_id = ending.run.id
        for delay in (*self.record_retry_delays, None):
            try:
                if ending.method:
                    stored = self.app.get_run(run_id)
                    # `ending.run` took the ending's status when the save was attempted; a
                    # run ended otherwise (a reaper) still gets these last lines.
                    if stored.is_finished and stored.status == ending.run.status:
                        logger.info("worker %s: the end of run %s was stored", self.id, run_id)
                        return False
                if ending.entries:
                    try:
                        log = self.app.run_log(run_id)
                    except NotFound:
                        log = self.app.open_run_log(ending.run)
                    self.app.record_log_entries(log, ending.entries)
                return True
            except Exception:
                logger.exception("worker %s: recording the last lines of run %s", self.id, run_id)
                if delay is None or self._stop_loop.wait(delay):
                    break
        # The lines are lost; the run's end is still worth its own tries.
        logger.error("worker %s: could not record the last lines of run %s", self.id, run_id)
        return True

    def _record(self, ending: RunEnding) -> None:
        """The run's final event through the single-run commands, which load the run: a
        few tries if a cancel request lands at the same moment and moves its version."""
        run_id, args = ending.run.id, ending.args
        now = self.clock.now()
        for delay in (*self.record_retry_delays, None):
            try:
                if ending.method == "time_out":
                    self.app.time_out_run(run_id, retry_now=now)
                elif ending.method == "confirm_cancelled":
                    self.app.confirm_cancelled(run_id)
                elif ending.method == "abandon":
                    self.app.abandon_run(run_id, reason=args[0], retry_now=now)
                elif ending.method == "succeed":
                    self.app.succeed_run(run_id, exit_code=args[0])
                else:
                    self.app.fail_run(run_id, exit_code=args[0], error=args[1], retry_now=now)
                return
            except Conflict:
                if self.app.get_run(run_id).is_finished:
                    logger.warning("worker %s: run %s was ended elsewhere", self.id, run_id)
                    return
            except Exception:
                # The store is unreachable: try again for about half a minute, else the run
                # stays running under our (live) id until this worker stops.
                logger.exception("worker %s: recording the end of run %s", self.id, run_id)
                if delay is None or self._stop_loop.wait(delay):
                    break
        logger.error("worker %s: could not record the end of run %s", self.id, run_id)
