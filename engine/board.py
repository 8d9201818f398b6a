"""The worker's picture of the runs that are not finished: which are queued, which are ready.

Every worker follows the Run events of the notification log and keeps this board up to date;
no database query is needed to decide what to claim next. The board knows, for every run
that is queued or running (on any worker), its job, when it may start and when it was
requested, which is enough to honour `scheduled_for` (retries wait out their backoff) and
the `queue` overlap policy (a job's runs start one at a time, oldest request first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol

from domain.run import Run
from domain.run_status import RunStatus
from engine.ports import RunsSnapshot

# The Run events the board needs, so the follower reads only those (a topic filter).
BOARD_EVENTS: tuple[type[DomainEventProtocol[UUID]], ...] = (
    Run.Requested,
    Run.Started,
    Run.CancelRequested,
    Run.Succeeded,
    Run.Failed,
    Run.TimedOut,
    Run.Cancelled,
    Run.Skipped,
    Run.Abandoned,
)


@dataclass
class BoardRun:
    """What the board keeps of one unfinished run."""

    id: UUID
    job_id: UUID
    job_version: int
    status: RunStatus  # queued or running
    requested_at: datetime  # FIFO order within a job
    scheduled_for: datetime | None
    worker: str | None = None
    cancel_requested: bool = False
    # The run's job type (only workers that can run it claim it) and timeout (how long it
    # may wait queued when no live worker can run it).
    job_type: str = ""
    timeout_seconds: int | None = None
    # The run's `Requested` event, while it is queued: a claim builds the run from it
    # instead of loading it (None when the run came from the runs view at start-up).
    request: Run.Requested | None = field(default=None, repr=False)


class RunBoard:
    """Unfinished runs, from events or from a snapshot of the runs view."""

    def __init__(self) -> None:
        self.runs: dict[UUID, BoardRun] = {}
        # Runs this worker lost a claim for, or otherwise must not try again; forgotten when
        # the run's next event arrives.
        self._taken: set[UUID] = set()

    def apply(self, event: DomainEventProtocol[UUID]) -> BoardRun | None:
        """Fold one Run event in. Returns the run it touched (None once finished)."""
        run_id: UUID = event.originator_id
        if isinstance(event, Run.Requested):
            run = BoardRun(
                id=run_id,
                job_id=event.job_id,
                job_version=event.job_version,
                status=RunStatus.QUEUED,
                requested_at=event.timestamp,
                scheduled_for=event.scheduled_for,
                request=event,
                job_type=event.job_type,
                timeout_seconds=event.timeout_seconds,
            )
            self.runs[run_id] = run
            return run
        existing = self.runs.get(run_id)
        if isinstance(event, Run.Finished):
            self.runs.pop(run_id, None)
            self._taken.discard(run_id)
            return None
        if existing is None:
            return None
        if isinstance(event, Run.Started):
            existing.status = RunStatus.RUNNING
            existing.worker = event.worker
            existing.request = None
            self._taken.discard(run_id)
        elif isinstance(event, Run.CancelRequested):
            existing.cancel_requested = True
        return existing

    def add_row(self, row: dict[str, Any]) -> None:
        """Seed the board from a runs-view row (start-up without replaying history)."""
        self.runs[row["id"]] = BoardRun(
            id=row["id"],
            job_id=row["job_id"],
            job_version=row.get("job_version") or 0,
            status=RunStatus(row["status"]),
            # running_runs() rows have no request time; a running run's place in a job's
            # queue does not depend on it (it blocks the job whatever its age).
            requested_at=row.get("requested_at") or row["started_at"],
            scheduled_for=row.get("scheduled_for"),
            worker=row.get("worker"),
            cancel_requested=bool(row.get("cancel_requested_by")),
            job_type=row.get("job_type") or "",
            timeout_seconds=row.get("timeout_seconds"),
        )

    def seed(self, view: RunsSnapshot) -> int:
        """Add the runs view's queued and running rows; returns the view's position (0 when
        it has none), from which the Run events are to be read.

        The position is read before the rows; rows that already reflect later events are
        corrected by replaying those events, which set each run's state outright.
        """
        position = view.max_tracking_id("runs") or 0
        if not position:
            return 0
        for row in view.running_runs():
            self.add_row({**row, "status": RunStatus.RUNNING})
        cursor: str | None = None
        while True:
            rows, cursor = view.list_runs(status=RunStatus.QUEUED, limit=500, cursor=cursor)
            for row in rows:
                self.add_row(row)
            if cursor is None:
                return position

    def mark_taken(self, run_id: UUID) -> None:
        """Do not offer this run again until its next event (a lost claim, say)."""
        self._taken.add(run_id)

    def untake(self, run_id: UUID) -> None:
        self._taken.discard(run_id)

    def mark_running(self, run_id: UUID, worker: str) -> BoardRun | None:
        """This worker claimed the run: running here, before its `Started` is read back."""
        run = self.runs.get(run_id)
        if run is not None:
            run.status, run.worker = RunStatus.RUNNING, worker
            run.request = None
        return run

    def running(self) -> Iterator[BoardRun]:
        return (r for r in self.runs.values() if r.status is RunStatus.RUNNING)

    def queued(self) -> Iterator[BoardRun]:
        return (r for r in self.runs.values() if r.status is RunStatus.QUEUED)

    def next_not_before(self, now: datetime) -> datetime | None:
        """The earliest future `scheduled_for` of a queued run: when to look again."""
        times = [
            r.scheduled_for
            for r in self.queued()
            if r.scheduled_for is not None and r.scheduled_for > now and r.id not in self._taken
        ]
        return min(times, default=None)

    def ready(self, now: datetime, overlap_of: Callable[[BoardRun], str]) -> list[BoardRun]:
        """Queued runs that may start now, oldest request first.

        A run waits while its `scheduled_for` is in the future. For a job whose overlap
        policy is `queue`, only the oldest unfinished run of the job may start, and only
        when none of the job's runs is running.
        """
        candidates = sorted(
            (
                r
                for r in self.queued()
                if r.id not in self._taken and (r.scheduled_for is None or r.scheduled_for <= now)
            ),
            key=lambda r: (r.requested_at, r.id),
        )
        if not candidates:
            return []
        # Jobs with a `queue` policy: their oldest unfinished run, if not running.
        heads: dict[UUID, BoardRun] | None = None
        ready: list[BoardRun] = []
        for run in candidates:
            if overlap_of(run) != "queue":
                ready.append(run)
                continue
            if heads is None:
                heads = self._queue_heads()
            if heads.get(run.job_id) is run:
                ready.append(run)
        return ready

    def _queue_heads(self) -> dict[UUID, BoardRun]:
        heads: dict[UUID, BoardRun] = {}
        for run in sorted(self.runs.values(), key=lambda r: (r.requested_at, r.id)):
            current = heads.get(run.job_id)
            if current is None:
                heads[run.job_id] = run
            elif current.status is RunStatus.QUEUED and run.status is RunStatus.RUNNING:
                # A running run blocks the job whatever its request time.
                heads[run.job_id] = run
        return heads
