"""The jobs read model: one row per live job, with a summary of its latest run.

The projection folds a batch of Job and Run events into a `JobsChanges`: per job, either
the whole new row (registered in this batch) or the columns later events set; per job, the
newest run requested in the batch; per earlier run, its latest status. Secrets appear by
name, time and actor only: `Job.SecretStored.ciphertext` is never copied anywhere.
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
from domain.job import Job
from domain.job_name import normalize
from domain.run import Run
from domain.run_status import RunStatus
from projections.base import BatchProjection, BatchView, decode_cursor, encode_cursor

# The columns the projection writes from Job events. The last-run summary is written from
# Run events on its own, so a job's configuration change never overwrites it.
CONFIG_COLUMNS = (
    "id",
    "version",
    "name",
    "description",
    "job_type",
    "program",
    "parameters",
    "schedule_cron",
    "schedule_timezone",
    "log_level",
    "enabled",
    "policies",
    "secrets",
    "name_shared_with",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "folder",
    "tags",
    "parameters_schema",
)


@dataclass
class JobChange:
    """What one batch does to one job."""

    job_id: UUID
    row: dict[str, Any] | None = None  # the whole row, when registered in this batch
    fields: dict[str, Any] = field(default_factory=dict)  # columns set by later events
    policies: dict[str, Any] = field(default_factory=dict)  # policy values changed
    secrets: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # None: removed
    deleted: bool = False

    def merge_into(self, row: dict[str, Any]) -> dict[str, Any]:
        """`row` (the job as it was, CONFIG_COLUMNS) with this batch's changes applied."""
        new = dict(row)
        new.update(self.fields)
        if self.policies:
            new["policies"] = {**row["policies"], **self.policies}
        if self.secrets:
            by_name = {s["name"]: s for s in row["secrets"]}
            for name, info in self.secrets.items():
                if info is None:
                    by_name.pop(name, None)
                else:
                    by_name[name] = info
            new["secrets"] = [by_name[name] for name in sorted(by_name)]
        return new


@dataclass
class LastRun:
    """The newest run requested for a job in a batch, with its status by the batch's end."""

    run_id: UUID
    status: RunStatus
    requested_at: datetime


@dataclass
class JobsChanges:
    """A batch of Job and Run events folded per job (see the module docstring)."""

    jobs: dict[UUID, JobChange] = field(default_factory=dict)
    last_runs: dict[UUID, LastRun] = field(default_factory=dict)  # by job id
    run_status: dict[UUID, RunStatus] = field(default_factory=dict)  # runs requested earlier
    run_jobs: dict[UUID, UUID] = field(default_factory=dict)  # run id -> job id, this batch

    def split(self) -> tuple[list[dict[str, Any]], list[JobChange], list[UUID]]:
        """(rows to insert, changes to existing rows, ids of rows to delete)."""
        inserts: list[dict[str, Any]] = []
        updates: list[JobChange] = []
        deletes: list[UUID] = []
        for change in self.jobs.values():
            if change.row is not None:
                if not change.deleted:  # registered and deleted in one batch: no row at all
                    inserts.append(change.merge_into(change.row))
            elif change.deleted:
                deletes.append(change.job_id)
            else:
                updates.append(change)
        return inserts, updates, deletes


@dataclass(frozen=True)
class JobQuery:
    """Which jobs a list keeps; every filter is optional and they combine.

    `name_prefix` matches case-sensitively, by code point. `search` matches jobs whose name
    or description contains it, ignoring case (see `search_text`). `folder` matches the
    folder and its subfolders; every one of `tags` must be on the job; `status` is the last
    run's status.
    """

    enabled: bool | None = None
    job_type: str | None = None
    name_prefix: str | None = None
    search: str | None = None
    folder: str | None = None
    tags: Sequence[str] = ()
    status: str | None = None


ALL_JOBS = JobQuery()


class JobsView(BatchView):
    """The jobs view: writes `JobsChanges`, answers job queries with JSON-ready dicts.

    A job dict has: id, version, name, description, job_type, program, parameters,
    schedule ({"cron", "timezone"} or None), schedule_cron, schedule_timezone, log_level,
    enabled, policies, secrets ([{name, updated_at, updated_by}], by name), folder
    ("" for none), tags (a list), parameters_schema (None for none),
    last_run_id, last_run_status, last_run_at (the run's request time), created_at,
    created_by, updated_at, updated_by.
    """

    name = "jobs"  # the tracking name: Tracking("jobs", notification_id)

    @abstractmethod
    def apply(self, changes: JobsChanges, tracking: Tracking) -> None:
        """Write the folded batch and `tracking` in one transaction."""

    @abstractmethod
    def get_job(self, job_id: UUID) -> dict[str, Any] | None:
        """The live job, or None if there is none (never registered, deleted, not yet seen)."""

    @abstractmethod
    def list_jobs(
        self,
        query: JobQuery = ALL_JOBS,
        *,
        limit: int = 50,
        cursor: str | None = None,
        sort: str = "name",
        offset: int = 0,
        at: datetime | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the jobs `query` keeps, ordered by `sort` (one of
        projections.job_order.SORTS; "next_run" is reckoned from `at`, default now), and the
        cursor of the next page or None. `offset` skips that many jobs after the cursor (a
        numbered page: see interfaces.web.paging)."""

    @abstractmethod
    def count_jobs(self, query: JobQuery = ALL_JOBS) -> int:
        """How many jobs `list_jobs` with the same query lists, over all its pages."""

    @abstractmethod
    def job_folders(self) -> dict[str, int]:
        """Each folder that holds a job ("" for none), with its number of jobs."""

    @abstractmethod
    def job_tags(self) -> dict[str, int]:
        """Each tag on a job, with its number of jobs."""

    @abstractmethod
    def schedule_counts(self) -> list[tuple[str, str, int]]:
        """The schedules of enabled jobs, as [(cron, timezone, number of jobs)] by cron
        then zone: when each fires next is computed once per schedule, not per job."""

    @abstractmethod
    def jobs_due(
        self, due: Sequence[tuple[str, str, datetime]], limit: int = 50
    ) -> list[dict[str, Any]]:
        """The enabled jobs on the schedules `due` names as (cron, timezone, next fire), as
        [{id, name, schedule_cron, schedule_timezone, next_run}] with next_run the fire
        time given for the job's schedule, soonest first then by name and id, at most
        `limit`."""

    @abstractmethod
    def job_type_counts(self) -> dict[str, int]:
        """Each job type some job has, with its number of jobs."""


def jobs_cursor(job: dict[str, Any]) -> str:
    return encode_cursor(job["name"], str(job["id"]))


def parse_jobs_cursor(cursor: str) -> tuple[str, UUID]:
    name, job_id = decode_cursor(cursor, 2)
    try:
        if not isinstance(name, str):
            raise ValueError
        return name, UUID(job_id)
    except (ValueError, TypeError, AttributeError):
        raise InvalidInput("cursor", "is not a cursor this service issued") from None


def prefix_upper_bound(prefix: str) -> str:
    """The least string above every string starting with `prefix` (a range, not LIKE,
    so both stores use the (name, id) index and match case-sensitively)."""
    return prefix + "\U0010ffff"


# Between name and description in the search column: a control character no name holds,
# so a search rarely spans the two.
_SEARCH_SEPARATOR = "\x1f"


def search_text(row: dict[str, Any]) -> str:
    """What a job's search matches against: its name and description, case-folded (Unicode
    case folding, in Python, so both stores fold alike whatever their collation)."""
    return f"{row['name']}{_SEARCH_SEPARATOR}{row['description']}".casefold()


def search_pattern(search: str) -> str:
    """A LIKE pattern (escape character backslash) for "contains `search`", ignoring case."""
    folded = search.casefold()
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def job_dict(row: dict[str, Any]) -> dict[str, Any]:
    """A job row (already decoded to Python values) in the shape queries return."""
    cron, timezone = row["schedule_cron"], row["schedule_timezone"]
    job = dict(row)
    job["schedule"] = None if cron is None else {"cron": cron, "timezone": timezone}
    return job


# Run events and the status the job's last-run summary shows after each.
RUN_STATUS: dict[type, RunStatus] = {
    Run.Started: RunStatus.RUNNING,
    Run.Succeeded: Run.Succeeded.status,
    Run.Failed: Run.Failed.status,
    Run.TimedOut: Run.TimedOut.status,
    Run.Cancelled: Run.Cancelled.status,
    Run.Skipped: Run.Skipped.status,
    Run.Abandoned: Run.Abandoned.status,
}

Handler = Callable[[JobsChanges, Any], None]


def _job(changes: JobsChanges, event: Any) -> JobChange:
    """The job's change, touched by `event`: every Job event moves version and updated_*."""
    change = changes.jobs.get(event.originator_id)
    if change is None:
        change = changes.jobs[event.originator_id] = JobChange(event.originator_id)
    change.fields["version"] = event.originator_version
    change.fields["updated_at"] = event.timestamp
    change.fields["updated_by"] = event.actor
    return change


def _registered(changes: JobsChanges, e: Job.Registered) -> None:
    schedule = e.schedule or {}
    _job(changes, e).row = {
        "id": e.originator_id,
        "version": e.originator_version,
        "name": e.name,
        "description": e.description,
        "job_type": e.job_type,
        "program": e.program,
        "parameters": e.parameters,
        "schedule_cron": schedule.get("cron"),
        "schedule_timezone": schedule.get("timezone"),
        "log_level": e.log_level,
        "enabled": e.enabled,
        "policies": dict(e.policies),
        "secrets": [],
        "name_shared_with": None,
        "created_at": e.timestamp,
        "created_by": e.actor,
        "updated_at": e.timestamp,
        "updated_by": e.actor,
        "folder": e.folder,
        "tags": list(e.tags),
        "parameters_schema": e.parameters_schema,
    }


def _setter(column: str, attribute: str) -> Handler:
    def handle(changes: JobsChanges, e: Any) -> None:
        _job(changes, e).fields[column] = getattr(e, attribute)

    return handle


def _renamed(changes: JobsChanges, e: Job.Renamed) -> None:
    fields = _job(changes, e).fields
    fields["name"] = e.name
    if normalize(e.name) != normalize(e.previous):
        fields["name_shared_with"] = None  # a name of its own: no longer flagged


def _name_shared(changes: JobsChanges, e: Job.NameShared) -> None:
    _job(changes, e).fields["name_shared_with"] = e.holder


def _tags_changed(changes: JobsChanges, e: Job.TagsChanged) -> None:
    _job(changes, e).fields["tags"] = list(e.tags)


def _scheduled(changes: JobsChanges, e: Job.Scheduled) -> None:
    _job(changes, e).fields.update(schedule_cron=e.cron, schedule_timezone=e.timezone)


def _unscheduled(changes: JobsChanges, e: Job.Unscheduled) -> None:
    _job(changes, e).fields.update(schedule_cron=None, schedule_timezone=None)


def _secret_stored(changes: JobsChanges, e: Job.SecretStored) -> None:
    # Name, time and actor only: the ciphertext stays in the event store.
    info = {"name": e.name, "updated_at": e.timestamp, "updated_by": e.actor}
    _job(changes, e).secrets[e.name] = info


def _secret_removed(changes: JobsChanges, e: Job.SecretRemoved) -> None:
    _job(changes, e).secrets[e.name] = None


def _enabled(changes: JobsChanges, e: Job.Enabled) -> None:
    _job(changes, e).fields["enabled"] = True


def _disabled(changes: JobsChanges, e: Job.Disabled) -> None:
    _job(changes, e).fields["enabled"] = False


def _policies_changed(changes: JobsChanges, e: Job.PoliciesChanged) -> None:
    _job(changes, e).policies.update(e.policies)


def _deleted(changes: JobsChanges, e: Job.Deleted) -> None:
    _job(changes, e).deleted = True


def _run_requested(changes: JobsChanges, e: Run.Requested) -> None:
    changes.run_jobs[e.originator_id] = e.job_id
    last = changes.last_runs.get(e.job_id)
    if last is None or e.timestamp >= last.requested_at:
        changes.last_runs[e.job_id] = LastRun(e.originator_id, RunStatus.QUEUED, e.timestamp)


def _run_progressed(changes: JobsChanges, e: Any) -> None:
    status = RUN_STATUS[type(e)]
    job_id = changes.run_jobs.get(e.originator_id)
    if job_id is None:
        # Requested in an earlier batch: the view updates the job whose last run it is.
        changes.run_status[e.originator_id] = status
        return
    last = changes.last_runs[job_id]
    if last.run_id == e.originator_id:  # else a newer run of the job superseded it
        last.status = status


HANDLERS: dict[type, Handler] = {
    Job.Registered: _registered,
    Job.Renamed: _renamed,
    Job.DescriptionChanged: _setter("description", "description"),
    Job.ProgramChanged: _setter("program", "program"),
    Job.ParametersChanged: _setter("parameters", "parameters"),
    Job.ParametersSchemaChanged: _setter("parameters_schema", "parameters_schema"),
    Job.FolderChanged: _setter("folder", "folder"),
    Job.TagsChanged: _tags_changed,
    Job.Scheduled: _scheduled,
    Job.Unscheduled: _unscheduled,
    Job.SecretStored: _secret_stored,
    Job.SecretRemoved: _secret_removed,
    Job.LogLevelChanged: _setter("log_level", "log_level"),
    Job.Enabled: _enabled,
    Job.Disabled: _disabled,
    Job.PoliciesChanged: _policies_changed,
    Job.Deleted: _deleted,
    Job.NameShared: _name_shared,
    Run.Requested: _run_requested,
    **dict.fromkeys(RUN_STATUS, _run_progressed),
}


class JobsProjection(BatchProjection[JobsView]):
    """Keeps the jobs view: job configuration from Job events, last run from Run events."""

    name = "jobs"
    event_classes = tuple(HANDLERS)

    def new_changes(self) -> JobsChanges:
        return JobsChanges()

    def fold(self, changes: JobsChanges, event: Any) -> None:
        handler = HANDLERS.get(type(event))
        if handler is not None:
            handler(changes, event)
