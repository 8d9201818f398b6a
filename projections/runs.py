"""The runs read model: one row per run, newest first, filterable by job, status and time.

A run requested in a batch becomes one whole row, with its later events of the same batch
already applied (requested, started and finished in one batch: one INSERT). Events of runs
requested in earlier batches become a patch of the columns they set.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking

from domain.errors import InvalidInput
from domain.run import Run
from domain.run_status import RunStatus
from projections.base import BatchProjection, BatchView, decode_cursor, encode_cursor
from projections.run_stats import HistoryFigures

# Every status a run can have, in the order of its life (filters and counts list them so), as
# plain strings: they become the keys of JSON objects, which orjson wants of type str exactly.
STATUSES: tuple[str, ...] = tuple(status.value for status in RunStatus)

# Every column of a run row, in table order.
RUN_COLUMNS = (
    "id",
    "job_id",
    "job_name",
    "job_version",
    "job_type",
    "trigger",
    "status",
    "scheduled_for",
    "requested_at",
    "requested_by",
    "started_at",
    "finished_at",
    "exit_code",
    "error",
    "attempt",
    "retry_of",
    "worker",
    "log_level",
    "timeout_seconds",
    "cancel_requested_by",
    "version",
    # How many log entries the worker discarded below the threshold (from the final event).
    "discarded_entries",
    # The run's effective parameters (the job's, with run-now overrides merged in; secrets
    # are never among them), and the keys that were overridden. None and [] in rows made
    # before these columns existed, until the view is rebuilt.
    "parameters",
    "overrides",
    # The run a rerun repeats (trigger "rerun"); None for every other run.
    "rerun_of",
    # When retention deleted the run's log, and how many entries it held (Run.LogPurged).
    "log_purged_at",
    "log_purged_entries",
)

# The columns later events set. None of them ever sets a column back to NULL, so a patch
# is written as "COALESCE(new, old)" per column: one statement for every kind of patch.
PATCH_COLUMNS = (
    "status",
    "worker",
    "started_at",
    "finished_at",
    "exit_code",
    "error",
    "cancel_requested_by",
    "version",
    "discarded_entries",
    "log_purged_at",
    "log_purged_entries",
)


@dataclass
class RunsChanges:
    """A batch of Run events folded per run."""

    new: dict[UUID, dict[str, Any]] = field(default_factory=dict)  # whole rows (RUN_COLUMNS)
    # {"id": run id, **some PATCH_COLUMNS}: the id inside, so a view can send them as they are
    patches: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    # Runs reduced by retention (Run.Reduced): their rows are deleted.
    deleted: set[UUID] = field(default_factory=set)

    def patch_rows(self) -> list[tuple[Any, ...]]:
        """The patches as (PATCH_COLUMNS values..., run id), None where a column is unset."""
        return [
            (*(patch.get(column) for column in PATCH_COLUMNS), run_id)
            for run_id, patch in self.patches.items()
        ]


class RunsView(BatchView):
    """The runs view: writes `RunsChanges`, answers run queries with JSON-ready dicts.

    A run dict has the keys of RUN_COLUMNS.
    """

    name = "runs"  # the tracking name: Tracking("runs", notification_id)

    @abstractmethod
    def apply(self, changes: RunsChanges, tracking: Tracking) -> None:
        """Write the folded batch and `tracking` in one transaction."""

    @abstractmethod
    def get_run(self, run_id: UUID) -> dict[str, Any] | None:
        """The run, or None if the view has not seen it."""

    @abstractmethod
    def list_runs(
        self,
        *,
        job_id: UUID | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of runs, newest first by (requested_at, id), and the next page's cursor.

        `since` is inclusive and `until` exclusive, both on requested_at. `offset` skips
        that many runs after the cursor (a numbered page).
        """

    @abstractmethod
    def count_runs(
        self,
        *,
        job_id: UUID | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """How many runs `list_runs` with the same filter lists, over all its pages."""

    @abstractmethod
    def next_attempt(self, run_id: UUID) -> dict[str, Any] | None:
        """The retry that followed this run (the run whose retry_of it is), or None."""

    @abstractmethod
    def count_by_status(self) -> dict[str, int]:
        """How many runs have each status (every status, zeros included)."""

    @abstractmethod
    def running_runs(self) -> list[dict[str, Any]]:
        """Runs now running: [{id, job_id, worker, started_at}], oldest start first."""

    @abstractmethod
    def history_figures(
        self, job_id: UUID, *, now: datetime, windows: Sequence[int], trend_days: int
    ) -> HistoryFigures:
        """Success rate and median and p95 duration of the job's runs finished in each of
        the last `windows` days, and the median duration per UTC day over `trend_days` days,
        up to `now`; of runs that started, at most MAX_FIGURE_RUNS (the latest), read along
        the index on (job_id, finished_at). `run_stats.figures_of` says what each figure is."""

    @abstractmethod
    def finished_runs(
        self, job_id: UUID, *, since: datetime | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """A job's finished runs, latest finish first: [{id, status, started_at, finished_at}].

        At most `limit` (up to MAX_FINISHED_RUNS); with `since`, only those finished at or
        after it. Read from the index on (job_id, finished_at), so the cost is the rows asked
        for, however long the job's history.
        """

    @abstractmethod
    def runs_per_hour(self, since: datetime) -> list[tuple[datetime, str, int]]:
        """Runs requested in the UTC hour `since` is in or later, counted per UTC hour of
        their request and per status: [(hour, status, count)], oldest hour first, then by
        status. Whole hours, so a chart's first bar counts all of its hour."""

    @abstractmethod
    def finished_since(
        self, statuses: Sequence[str], since: datetime, limit: int = 20
    ) -> list[dict[str, Any]]:
        """Runs with one of `statuses` that finished at or after `since`, latest finish
        first (then newest id), at most `limit` of them."""


# The most finished runs one `finished_runs` call returns.
MAX_FINISHED_RUNS = 1_000
FINISHED_RUN_COLUMNS = ("id", "status", "started_at", "finished_at")


def check_status(status: str | None) -> str | None:
    if status is not None and status not in STATUSES:
        raise InvalidInput("status", f"{status!r} is not a run status: {', '.join(STATUSES)}")
    return status


def runs_cursor(run: dict[str, Any]) -> str:
    return encode_cursor(run["requested_at"], str(run["id"]))


def parse_runs_cursor(cursor: str) -> tuple[datetime, UUID]:
    requested_at, run_id = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(requested_at), UUID(run_id)
    except (ValueError, TypeError, AttributeError):
        raise InvalidInput("cursor", "is not a cursor this service issued") from None


Handler = Callable[[RunsChanges, Any], None]


def _requested(changes: RunsChanges, e: Run.Requested) -> None:
    changes.new[e.originator_id] = {
        "id": e.originator_id,
        "job_id": e.job_id,
        "job_name": e.job_name,
        "job_version": e.job_version,
        "job_type": e.job_type,
        "trigger": e.trigger,
        "status": RunStatus.QUEUED,
        "scheduled_for": e.scheduled_for,
        "requested_at": e.timestamp,
        "requested_by": e.requested_by,
        "started_at": None,
        "finished_at": None,
        "exit_code": None,
        "error": None,
        "attempt": e.attempt,
        "retry_of": e.retry_of,
        "worker": None,
        "log_level": e.log_level,
        "timeout_seconds": e.timeout_seconds,
        "cancel_requested_by": None,
        "version": e.originator_version,
        "discarded_entries": 0,
        "parameters": e.parameters,
        "overrides": list(e.overrides),
        "rerun_of": e.rerun_of,
        "log_purged_at": None,
        "log_purged_entries": None,
    }


def _target(changes: RunsChanges, e: Any) -> dict[str, Any]:
    """The run's row if requested in this batch, else its patch; with the new version."""
    target = changes.new.get(e.originator_id)
    if target is None:
        target = changes.patches.get(e.originator_id)
        if target is None:
            target = changes.patches[e.originator_id] = {"id": e.originator_id}
    target["version"] = e.originator_version
    return target


def _started(changes: RunsChanges, e: Run.Started) -> None:
    _target(changes, e).update(status=RunStatus.RUNNING, worker=e.worker, started_at=e.timestamp)


def _finished(**columns: Callable[[Any], Any]) -> Handler:
    """A handler for an event that ends a run, setting `columns` from the event too."""

    def handle(changes: RunsChanges, e: Any) -> None:
        target = _target(changes, e)
        target["status"] = e.status
        target["finished_at"] = e.timestamp
        target["discarded_entries"] = e.discarded_entries
        for column, value in columns.items():
            target[column] = value(e)

    return handle


def _cancel_requested(changes: RunsChanges, e: Run.CancelRequested) -> None:
    _target(changes, e)["cancel_requested_by"] = e.actor


def _log_purged(changes: RunsChanges, e: Run.LogPurged) -> None:
    _target(changes, e).update(log_purged_at=e.timestamp, log_purged_entries=e.entries)


def _reduced(changes: RunsChanges, e: Run.Reduced) -> None:
    # Gone from the view whatever else this batch says of it (a rebuild folds all at once).
    changes.new.pop(e.originator_id, None)
    changes.patches.pop(e.originator_id, None)
    changes.deleted.add(e.originator_id)


HANDLERS: dict[type, Handler] = {
    Run.Requested: _requested,
    Run.Started: _started,
    Run.Succeeded: _finished(exit_code=lambda e: e.exit_code),
    Run.Failed: _finished(exit_code=lambda e: e.exit_code, error=lambda e: e.error),
    # The same text the aggregate shows (Run.TimedOut.apply).
    Run.TimedOut: _finished(error=lambda e: f"timed out after {e.timeout_seconds} s"),
    Run.CancelRequested: _cancel_requested,
    Run.Cancelled: _finished(),
    Run.Skipped: _finished(error=lambda e: e.reason),
    Run.Abandoned: _finished(error=lambda e: e.reason),
    Run.LogPurged: _log_purged,
    Run.Reduced: _reduced,
}


class RunsProjection(BatchProjection[RunsView]):
    """Keeps the runs view from Run events."""

    name = "runs"
    event_classes = tuple(HANDLERS)

    def new_changes(self) -> RunsChanges:
        return RunsChanges()

    def fold(self, changes: RunsChanges, event: Any) -> None:
        handler = HANDLERS.get(type(event))
        if handler is not None:
            handler(changes, event)
