"""The retention sweep: deletes the logs of runs past their job's log retention and reduces
runs past its run retention, recording each on the run (`Run.LogPurged`, `Run.Reduced`).

It reads the runs view to find candidates (as the scheduler reads its index), then loads
each run to decide: a view behind the store can only make it find fewer runs, never purge
one that is not due. The physical deletion is the store's (`RetentionStore`).

A purge is three steps, none of which a crash may leave half-said: the entry count is read
while the log is whole and marked in the store (`mark_purge`), then `Run.LogPurged` is saved
with that count, then the log is deleted, which closes the mark. A sweep that dies after
the event leaves the mark open, and the next sweep finishes the deletion first thing; one
that dies before it leaves the log whole and the run still due, so it is purged again from
the start. So a `LogPurged` always carries the count of what was there, and no log goes
unrecorded.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import RecordConflictError

from application.base import LedgerBase
from application.ports import Clock, LogArchive, RetentionStore
from domain import run as run_model
from domain.job import Job
from domain.log_level import LogLevel
from domain.retention import Due, RetentionPolicy, policy_for
from domain.run import Run

log = logging.getLogger("jobledger.retention")

# Runs looked at per job per query: bounds the memory of one pass.
PAGE = 500
ARCHIVE_PAGE = 5_000  # log entries read per query when archiving


@dataclass(frozen=True)
class RunVerdict:
    """One run the sweep purged (or, in a dry run, would purge)."""

    run_id: UUID
    job_id: UUID
    due: Due
    entries: int
    reason: str
    log_purged: bool = True  # False: a reduced run whose log an earlier sweep purged


@dataclass
class SweepReport:
    """What one sweep did (or would do, when `dry_run`)."""

    dry_run: bool
    runs: list[RunVerdict] = field(default_factory=list)
    # Logs the logs view had not processed yet: left for the next sweep.
    deferred: int = 0
    # Deletions an interrupted sweep had recorded (LogPurged) but not finished, done now.
    resumed: int = 0

    @property
    def logs_purged(self) -> int:
        return sum(1 for r in self.runs if r.log_purged)

    @property
    def runs_reduced(self) -> int:
        return sum(1 for r in self.runs if r.due is Due.REDUCTION)

    @property
    def entries_purged(self) -> int:
        return sum(r.entries for r in self.runs)


class RetentionSweep:
    """Applies every job's retention to its finished runs; see the module docstring."""

    def __init__(
        self,
        app: LedgerBase,
        store: RetentionStore,
        clock: Clock,
        defaults: RetentionPolicy,
        archive: LogArchive | None = None,
    ) -> None:
        self.app = app
        self.store = store
        self.clock = clock
        self.defaults = defaults
        self.archive = archive  # where logs are copied before they go, if anywhere

    def run(self, *, dry_run: bool = False) -> SweepReport:
        report = SweepReport(dry_run=dry_run)
        if not dry_run:
            self._finish_interrupted(report)
        for job_id in self.store.job_ids():
            self._sweep_job(job_id, self._policy(job_id), report)
        if not dry_run and (report.runs or report.resumed):
            self.store.reclaim()
        if report.runs or report.deferred or report.resumed:
            log.info(
                "retention%s: %d logs purged (%d entries), %d runs reduced, %d deferred,"
                " %d interrupted purges finished",
                " (dry run)" if dry_run else "",
                report.logs_purged,
                report.entries_purged,
                report.runs_reduced,
                report.deferred,
                report.resumed,
            )
        return report

    def _finish_interrupted(self, report: SweepReport) -> None:
        """Finish the deletions a sweep recorded on their runs but died before doing."""
        for run_id in self.store.pending_purges():
            try:
                run: object = self.app.repository.get(run_id)
            except AggregateNotFoundError:
                continue
            if not isinstance(run, Run) or run.log_purged_at is None:
                # It died before the event: the log is whole and the run still due; its
                # purge starts over (and marks it again) when the sweep reaches it.
                continue
            if self.store.purge_log(run_id) is None:
                report.deferred += 1
            else:
                report.resumed += 1

    def _policy(self, job_id: UUID) -> RetentionPolicy:
        # A deleted job's runs follow its last policies; a job never found, the defaults.
        try:
            job: object = self.app.repository.get(job_id)
        except AggregateNotFoundError:
            return self.defaults
        return policy_for(job.policies, self.defaults) if isinstance(job, Job) else self.defaults

    def _sweep_job(self, job_id: UUID, policy: RetentionPolicy, report: SweepReport) -> None:
        now = self.clock.now()
        kept = self.store.newest_finished(job_id, policy.keep_last) if policy.keep_last else set()
        seen: set[UUID] = set()
        while True:
            page = self.store.candidates(
                job_id,
                log_before=now - timedelta(days=policy.log_days),
                run_before=now - timedelta(days=policy.run_days),
                limit=PAGE,
            )
            fresh = [c for c in page if c.run_id not in seen]
            if not fresh:
                return
            for candidate in fresh:
                seen.add(candidate.run_id)
                rank = 0 if candidate.run_id in kept else len(kept)
                due = policy.due(candidate.finished_at, now, rank)
                if due is not Due.NOTHING:
                    self._apply(candidate.run_id, job_id, due, policy.reason(due), report)
            if report.dry_run or len(page) < PAGE:
                return  # a dry run changes nothing, so the next page would be the same

    def _apply(
        self, run_id: UUID, job_id: UUID, due: Due, reason: str, report: SweepReport
    ) -> None:
        try:
            run: object = self.app.repository.get(run_id)
        except AggregateNotFoundError:
            return
        if not isinstance(run, Run) or not run.is_finished or run.reduced_at is not None:
            return
        if due is Due.LOG_PURGE and run.log_purged_at is not None:
            return
        entries = 0
        had_log = run.log_purged_at is None
        if had_log:
            if report.dry_run:
                entries = self.store.count_log(run_id)
            else:
                # Counted (and archived) only once the logs view holds all of the log.
                if not self.store.log_settled(run_id):
                    report.deferred += 1
                    return
                if self.archive is not None:
                    # Written durably before the deletion: a failed write stops the sweep
                    # with the log kept.
                    self.archive.write(run_id, self._log_lines(run_id))
                entries = self.store.count_log(run_id)
                self.store.mark_purge(run_id, entries)  # before the event: see the docstring
                run_model.purge_log(run, entries, reason)
        if not report.dry_run:
            if due is Due.REDUCTION:
                run_model.reduce(run, reason)
            # A concurrent sweep (another scheduler) recorded it first: the deletion below
            # is idempotent, whichever of the two gets there first.
            with contextlib.suppress(RecordConflictError):
                self.app.save(run)
            if had_log and self.store.purge_log(run_id) is None:
                report.deferred += 1  # recorded and marked: the next sweep finishes it
        report.runs.append(RunVerdict(run_id, job_id, due, entries, reason, log_purged=had_log))

    def _log_lines(self, run_id: UUID) -> Iterator[str]:
        """The run's log as text, a line per entry: time, level, message."""
        after = 0
        while page := self.store.log_page(run_id, after, ARCHIVE_PAGE):
            for _seq, at, level, message in page:
                yield f"{at} {_level_name(level):<7} {message}"
            after = page[-1][0]


def _level_name(level: int) -> str:
    try:
        return LogLevel(level).name
    except ValueError:
        return str(level)
