"""The API's request and response bodies, so /openapi.json describes each one exactly.

Requests are validated by these models (strictly: no string-to-number coercion, unknown
fields refused); the domain then applies its own rules and names the field it refuses.
Responses are built as plain dicts and written by orjson; these models document them, and
the Schemathesis test holds every response to them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.run_status import RunStatus as RunStatusEnum
from projections.audit import ACTIONS

LogLevelName = Literal["Verbose", "Debug", "Info", "Warning", "Error"]
if TYPE_CHECKING:
    RunStatus = str
else:
    # The run statuses as a Literal of their plain values, derived from the domain's enum: the
    # OpenAPI document lists them inline, as it always has, and a new status shows up here.
    RunStatus = Literal[tuple(status.value for status in RunStatusEnum)]
Overlap = Literal["skip", "allow", "queue"]
Misfire = Literal["run_once", "skip", "run_all"]
# No NUL characters: PostgreSQL text cannot hold them.
Text = Annotated[str, Field(pattern=r"^[^\x00]*$")]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
SecretName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
SecretValue = Annotated[str, Field(min_length=1, max_length=16 * 1024, pattern=r"^[^\x00]*$")]
JsonObject = dict[str, Any]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Schedule(Request):
    cron: Annotated[str, Field(min_length=1, max_length=200, examples=["0 2 * * *"])]
    timezone: Annotated[str, Field(max_length=100, examples=["Europe/London"])] = "UTC"


# The parameters an operator may override in a run-now (administrators may override any).
LogRetentionDays = Annotated[int, Field(ge=0, le=36_500)] | None
RunRetentionDays = Annotated[int, Field(ge=1, le=36_500)] | None
KeepLastRuns = Annotated[int, Field(ge=0, le=100_000)] | None
OverridableParameters = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=200)]],
    Field(max_length=100, description="parameters an operator may override when running now"),
]


# A job's notification rules: checked by the domain (domain.notify_rules), which names the
# rule and event at fault, so the model only asks for a list of objects.
NotifyRules = Annotated[
    list[JsonObject],
    Field(
        max_length=20,
        description='who is told of which run outcomes: [{"channel": "on-call", '
        '"on": ["failed", "timed_out", "abandoned", "missed", "recovered", "succeeded", '
        '"long_running"]}]',
    ),
]
LongRunningSeconds = Annotated[int, Field(ge=1, le=7 * 24 * 3600)] | None


class NotifyRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str
    on: list[str]


Folder = Annotated[
    str,
    Field(
        max_length=200,
        pattern=r"^[^\x00]*$",
        examples=["Customers/Contoso"],
        description="a path of segments separated by '/'; \"\" for none",
    ),
]
Tags = Annotated[
    list[Annotated[str, Field(max_length=40, pattern=r"^[^\x00]*$")]],
    Field(max_length=20, examples=[["billing", "nightly"]]),
]


# A job's typed parameters: a subset of JSON Schema (see README, "Typed parameters"),
# checked by the application, which names the place at fault.
ParametersSchema = Annotated[
    JsonObject | None,
    Field(
        description="JSON Schema (Draft 2020-12 subset) of the job's parameters: an object "
        "whose properties are strings, integers, numbers or booleans, with enum, default, "
        "title, description, minimum/maximum, minLength/maxLength/pattern and required; "
        "null for none",
        examples=[
            {
                "type": "object",
                "properties": {
                    "batch_size": {"type": "integer", "minimum": 1, "default": 100},
                    "mode": {"type": "string", "enum": ["full", "delta"]},
                },
            }
        ],
    ),
]


class JobCreate(Request):
    name: Name
    description: Annotated[str, Field(max_length=4000, pattern=r"^[^\x00]*$")] = ""
    job_type: Annotated[str, Field(examples=["command"])]
    program: Annotated[JsonObject, Field(examples=[{"argv": ["python3", "sync.py"]}])]
    parameters: JsonObject = Field(default_factory=dict)
    parameters_schema: ParametersSchema = None
    secrets: Annotated[
        dict[str, SecretValue], Field(description="name -> value; write-only, never returned")
    ] = Field(default_factory=dict)
    schedule: Schedule | None = None
    log_level: LogLevelName = "Info"
    enabled: bool = True
    timeout_seconds: Annotated[int, Field(ge=1, le=7 * 24 * 3600)] | None = None
    overlap: Overlap = "skip"
    misfire: Misfire = "run_once"
    max_retries: Annotated[int, Field(ge=0, le=20)] = 0
    retry_backoff_seconds: Annotated[int, Field(ge=0, le=86400)] = 60
    overridable_parameters: OverridableParameters = Field(default_factory=list)
    notify: NotifyRules = Field(default_factory=list)
    long_running_seconds: LongRunningSeconds = None
    folder: Folder = ""
    tags: Tags = Field(default_factory=list)
    # Retention (null: the global default); checked by the domain, which names the field.
    log_retention_days: LogRetentionDays = None
    run_retention_days: RunRetentionDays = None
    keep_last_runs: KeepLastRuns = None


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def unset(default: Any = None, **kwargs: Any) -> Any:
    """An optional PATCH field: absent means unchanged, so the schema shows no default."""
    return Field(default=default, json_schema_extra=_no_default, **kwargs)


class JobPatch(Request):
    """Only the fields present change; each changed field is recorded as its own event."""

    name: Name = unset("")
    description: Annotated[str, Field(max_length=4000, pattern=r"^[^\x00]*$")] = unset("")
    program: JsonObject = unset({})
    parameters: JsonObject = unset({})
    parameters_schema: ParametersSchema = unset(None)
    schedule: Schedule | None = unset(None, description="null removes the schedule")
    log_level: LogLevelName = unset("Info")
    enabled: bool = unset(True)
    timeout_seconds: Annotated[int, Field(ge=1, le=7 * 24 * 3600)] | None = unset(None)
    overlap: Overlap = unset("skip")
    misfire: Misfire = unset("run_once")
    max_retries: Annotated[int, Field(ge=0, le=20)] = unset(0)
    retry_backoff_seconds: Annotated[int, Field(ge=0, le=86400)] = unset(60)
    overridable_parameters: OverridableParameters = unset([])
    notify: NotifyRules = unset([])
    long_running_seconds: LongRunningSeconds = unset(None)
    folder: Folder | None = unset(None, description='null or "" takes the job out of folders')
    tags: Tags = unset([])
    log_retention_days: LogRetentionDays = unset(None, description="null: the global default")
    run_retention_days: RunRetentionDays = unset(None, description="null: the global default")
    keep_last_runs: KeepLastRuns = unset(None, description="null: none kept beyond the days")


class JobClone(Request):
    name: Name


class SecretPut(Request):
    value: SecretValue


class RunCreate(Request):
    parameters: Annotated[
        JsonObject, Field(description="overrides of the job's parameters, key by key")
    ] = Field(default_factory=dict)


class PreviewRequest(Request):
    cron: Annotated[str, Field(min_length=1, max_length=200, examples=["30 1 * * *"])]
    timezone: Annotated[str, Field(max_length=100, examples=["Europe/London"])] = "UTC"
    count: Annotated[int, Field(ge=1, le=100)] = 10
    # Not strict: JSON has no time type, so an RFC 3339 string is the only way to send one.
    after: Annotated[
        datetime | None,
        Field(strict=False, description="RFC 3339 start (exclusive); default now"),
    ] = None


# Responses.


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScheduleOut(Response):
    cron: str
    timezone: str


class SecretInfo(Response):
    name: str
    updated_at: datetime
    updated_by: str


class LastRun(Response):
    id: UUID
    status: RunStatus
    requested_at: datetime | None


class Job(Response):
    id: UUID
    version: int
    name: str
    description: str
    job_type: str
    program: JsonObject
    parameters: JsonObject
    parameters_schema: JsonObject | None = Field(
        default=None, description="the JSON Schema of its parameters, or null for none"
    )
    schedule: ScheduleOut | None
    schedule_description: str | None
    log_level: LogLevelName
    enabled: bool
    timeout_seconds: int | None
    overlap: Overlap
    misfire: Misfire
    max_retries: int
    retry_backoff_seconds: int
    overridable_parameters: list[str]
    notify: list[NotifyRule] = Field(default_factory=list)
    long_running_seconds: int | None = None
    folder: str
    tags: list[str]
    log_retention_days: int | None = None
    run_retention_days: int | None = None
    keep_last_runs: int | None = None
    secrets: list[SecretInfo]
    next_run_at: datetime | None
    last_run: LastRun | None
    name_shared_with: UUID | None = Field(
        default=None,
        description="Set on a job registered before names were unique whose name an earlier "
        "job holds: rename it.",
    )
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    deleted: bool


class JobPage(Response):
    items: list[Job]
    next_cursor: str | None


class JobCloned(Response):
    job: Job
    secrets_to_set: list[str] = Field(
        description="the secrets of the job cloned, by name: never copied, set them anew"
    )


class Change(Response):
    from_: Annotated[Any, Field(alias="from")] = None
    to: Any = None


class HistoryEntry(Response):
    job_id: UUID
    job_name: str | None
    version: int
    event: str
    at: datetime
    actor: str
    changes: dict[str, Change]


class History(Response):
    items: list[HistoryEntry]


if TYPE_CHECKING:
    AuditAction = str
else:
    # What an audit entry records, from the projection's list, inline like RunStatus.
    AuditAction = Literal[ACTIONS]


class AuditEntry(Response):
    """One entry of the audit trail. `job_id` is null for token and sign-in entries;
    `changes` is a job change's before and after; `details` the rest: a manual run's
    `run_id` and effective `parameters`, a token's `token_name` and `role`, a sign-in's
    `token_name` ("unknown" when it failed) and `client` address."""

    job_id: UUID | None
    job_name: str | None
    version: int
    event: str
    at: datetime
    actor: str
    changes: dict[str, Change]
    action: AuditAction
    details: dict[str, Any]
    stream_id: UUID


class AuditPage(Response):
    items: list[AuditEntry]
    next_cursor: str | None


class RunAccepted(Response):
    run_id: UUID


class Run(Response):
    id: UUID
    job_id: UUID
    job_name: str
    job_version: int
    job_type: str
    trigger: Annotated[
        str,
        Field(
            pattern=r"^(schedule|manual|retry|rerun|webhook:.+)$",
            description='schedule, manual, retry, rerun, or "webhook:<trigger name>"',
        ),
    ]
    status: RunStatus
    scheduled_for: datetime | None
    requested_at: datetime
    requested_by: str
    started_at: datetime | None
    finished_at: datetime | None
    exit_code: int | None
    error: str | None
    attempt: int
    retry_of: UUID | None
    worker: str | None
    log_level: LogLevelName
    timeout_seconds: int | None
    cancel_requested_by: str | None
    version: int
    # Log entries below the job's threshold that the worker discarded (0 until the run ends).
    discarded_entries: int
    parameters: JsonObject | None = Field(
        description="the parameters the run was given: the job's, with run-now overrides "
        "merged in (secrets are never among them); null for a run recorded by a version "
        "before this field, until the read models are rebuilt"
    )
    overrides: list[str] = Field(description="the parameter keys overridden for this run")
    rerun_of: UUID | None = Field(default=None, description="the run this one reruns, if any")
    log_purged_at: datetime | None = Field(
        default=None, description="when retention deleted the run's log (null: it is kept)"
    )
    log_purged_entries: int | None = Field(
        default=None, description="how many log entries retention deleted"
    )


class RunDetail(Run):
    next_attempt: UUID | None = Field(
        description="the retry that followed this run, if any (its `retry_of` is this run)"
    )
    waiting_reason: Annotated[
        str | None,
        Field(
            description="shown on one run: why it is still queued when no live worker can "
            "run its job type (it fails with this reason after the job's timeout, else after "
            "JOBLEDGER_UNRUNNABLE_WAIT_SECONDS)"
        ),
    ] = None


class RunPage(Response):
    items: list[Run]
    next_cursor: str | None


class LogEntry(Response):
    seq: int
    at: datetime
    level: LogLevelName
    message: str


class LogPage(Response):
    items: list[LogEntry]
    next_after: int | None


class JobType(Response):
    name: str
    description: str
    program_schema: JsonObject
    available: Annotated[
        bool, Field(description="whether a live worker can run jobs of this type now")
    ]
    reason: Annotated[
        str | None,
        Field(description="why not, when no live worker can (e.g. pwsh 7.4+ missing)"),
    ] = None


class JobTypes(Response):
    items: list[JobType]


class FireTime(Response):
    at: Annotated[datetime, Field(description="the instant, in UTC")]
    local: Annotated[datetime, Field(description="the same instant in the schedule's zone")]
    utc_offset: Annotated[str, Field(examples=["+01:00"])]
    offset_changed: Annotated[
        bool, Field(description="the zone's offset differs from the previous fire time's")
    ]


class Preview(Response):
    cron: str
    timezone: str
    description: str
    fire_times: list[FireTime]


class LoopHealth(Response):
    name: str
    healthy: bool
    failing_for_seconds: float
    cause: str


class Health(Response):
    status: Literal["ok", "unavailable"]
    store: Literal["reachable", "unreachable", "disk full"]
    # Events the slowest view has still to process (null while the store cannot be asked).
    projections_behind: int | None = None
    problems: list[str] = []
    loops: list[LoopHealth] = []


class ProblemError(Response):
    """One field at fault: `detail` says what is wrong; `message` is the same text."""

    field: str
    detail: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details; `field` names the (first) input at fault, and `errors`
    lists every one, each with its own `field` and `detail`."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    field: str | None = None
    errors: list[ProblemError] | None = None
    current_version: int | None = None
