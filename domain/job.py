"""The Job aggregate: a job's configuration, changed only by past-tense events.

Every change event carries the actor who caused it and the value it replaced, so the audit
trail ("who changed what, from what to what") is a property of the events themselves and
any projection of it needs no state of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import parameters_schema as typed
from domain import values
from domain.errors import InvalidInput, NotFound
from domain.job_name import normalize
from domain.job_policies import validate_policies
from domain.log_level import LogLevel

if TYPE_CHECKING:
    from domain.schedule import CronSchedule

SECRET_SET = "(set)"  # what the audit shows instead of a secret: only that it is there


class Job(Aggregate):
    """A batch job: what runs (job type and program), when (schedule) and with what."""

    class Event(Aggregate.Event):
        actor: str

        def changes(self) -> dict[str, dict[str, Any]]:
            """{field: {"from": old, "to": new}} for the audit trail; secrets by name only."""
            return {}

    class Registered(Event, Aggregate.Created):
        name: str
        description: str
        job_type: str
        program: dict[str, Any]
        parameters: dict[str, Any]
        schedule: dict[str, str] | None
        log_level: str
        enabled: bool
        policies: dict[str, Any]
        # Last, with defaults, so jobs registered before they existed still load.
        folder: str = ""
        tags: tuple[str, ...] = ()
        cloned_from: UUID | None = None
        parameters_schema: dict[str, Any] | None = None

        def changes(self) -> dict[str, dict[str, Any]]:
            organised: dict[str, Any] = {"folder": self.folder} if self.folder else {}
            if self.parameters_schema is not None:
                organised["parameters_schema"] = self.parameters_schema
            if self.tags:
                organised["tags"] = list(self.tags)
            if self.cloned_from is not None:
                organised["cloned_from"] = str(self.cloned_from)
            fields = {
                "name": self.name,
                "description": self.description,
                "job_type": self.job_type,
                "program": self.program,
                "parameters": self.parameters,
                "schedule": self.schedule,
                "log_level": self.log_level,
                "enabled": self.enabled,
                **self.policies,
                **organised,
            }
            return {key: {"from": None, "to": value} for key, value in fields.items()}

    class Renamed(Event):
        name: str
        previous: str

        def apply(self, job: Job) -> None:
            if normalize(self.name) != normalize(job.name):
                job.name_shared_with = None  # a name of its own now
            job.name = self.name

        def changes(self) -> dict[str, dict[str, Any]]:
            return {"name": {"from": self.previous, "to": self.name}}

    class DescriptionChanged(Event):
        description: str
        previous: str

        def apply(self, job: Job) -> None:
            job.description = self.description

        def changes(self) -> dict[str, dict[str, Any]]:
            return {"description": {"from": self.previous, "to": self.description}}

    class ProgramChanged(Event):
        program: dict[str, Any]
        previous: dict[str, Any]

        def apply(self, job: Job) -> None:
            job.program = self.program

        def changes(self) -> dict[str, dict[str, Any]]:
            return {"program": {"from": self.previous, "to": self.program}}

    class ParametersChanged(Event):
        parameters: dict[str, Any]
        previous: dict[str, Any]

        def apply(self, job: Job) -> None:
            job.parameters = self.parameters

        def changes(self) -> dict[str, dict[str, Any]]:
            return {"parameters": {"from": self.previous, "to": self.parameters}}

    class ParametersSchemaChanged(Event):
        """The JSON Schema the job's parameters follow: set, changed, or removed (None)."""

        parameters_schema: dict[str, Any] | None
        previous: dict[str, Any] | None

        def apply(self, job: Job) -> None:
            job.parameters_schema = self.parameters_schema

        def changes(self) -> dict[str, dict[str, Any]]:
            return {"parameters_schema": {"from": self.previous, "to": self.parameters_schema}}

    class FolderChanged(Event):
        folder: str
        previous: str

        def apply(self, job: Job) -> None:
            job.folder = self.folder

        def changes(self) -> dict[str, dict[str, Any]]:
            return {"folder": {"from": self.previous, "to": self.folder}}

    class TagsChanged(Event):
        tags: tuple[str, ...]
        previous: tuple[str, ...]

        def apply(self, job: Job) -> None:
            job.tags = list(self.tags)

        def changes(self) -> dict[str, dict[str, Any]]:
            return {"tags": {"from": list(self.previous), "to": list(self.tags)}}

    class Scheduled(Event):
        cron: str
        timezone: str
        previous: dict[str, str] | None

        def apply(self, job: Job) -> None:
            job.schedule = {"cron": self.cron, "timezone": self.timezone}

        def changes(self) -> dict[str, dict[str, Any]]:
            new = {"cron": self.cron, "timezone": self.timezone}
            return {"schedule": {"from": self.previous, "to": new}}

    class Unscheduled(Event):
        previous: dict[str, str]

        def apply(self, job: Job) -> None:
            job.schedule = None

        def changes(self) -> dict[str, dict[str, Any]]:
            return {"schedule": {"from": self.previous, "to": None}}

    class SecretStored(Event):
        name: str
        ciphertext: str
        replaced: bool

        def apply(self, job: Job) -> None:
            job.secrets[self.name] = {
                "ciphertext": self.ciphertext,
                "updated_at": self.timestamp,
                "updated_by": self.actor,
            }

        def changes(self) -> dict[str, dict[str, Any]]:
            before = SECRET_SET if self.replaced else None
            return {f"secrets.{self.name}": {"from": before, "to": SECRET_SET}}

    class SecretRemoved(Event):
        name: str

        def apply(self, job: Job) -> None:
            job.secrets.pop(self.name, None)

        def changes(self) -> dict[str, dict[str, Any]]:
            return {f"secrets.{self.name}": {"from": SECRET_SET, "to": None}}

    class LogLevelChanged(Event):
        log_level: str
        previous: str

        def apply(self, job: Job) -> None:
            job.log_level = self.log_level

        def changes(self) -> dict[str, dict[str, Any]]:
            return {"log_level": {"from": self.previous, "to": self.log_level}}

    class Enabled(Event):
        def apply(self, job: Job) -> None:
            job.enabled = True

        def changes(self) -> dict[str, dict[str, Any]]:
            return {"enabled": {"from": False, "to": True}}

    class Disabled(Event):
        def apply(self, job: Job) -> None:
            job.enabled = False

        def changes(self) -> dict[str, dict[str, Any]]:
            return {"enabled": {"from": True, "to": False}}

    class PoliciesChanged(Event):
        policies: dict[str, Any]
        previous: dict[str, Any]

        def apply(self, job: Job) -> None:
            job.policies = {**job.policies, **self.policies}

        def changes(self) -> dict[str, dict[str, Any]]:
            return {
                key: {"from": self.previous.get(key), "to": value}
                for key, value in self.policies.items()
            }

    class Deleted(Event):
        def apply(self, job: Job) -> None:
            job.deleted = True
            job.secrets = {}

        def changes(self) -> dict[str, dict[str, Any]]:
            return {"deleted": {"from": False, "to": True}}

    class NameShared(Event):
        """Registered before names were unique, this job shares its name with an earlier
        job that holds it (`application.name_backfill`): it should be renamed."""

        holder: UUID

        def apply(self, job: Job) -> None:
            job.name_shared_with = self.holder

        def changes(self) -> dict[str, dict[str, Any]]:
            return {"name_shared_with": {"from": None, "to": str(self.holder)}}

    def __init__(
        self,
        *,
        name: str,
        description: str,
        job_type: str,
        program: dict[str, Any],
        parameters: dict[str, Any],
        schedule: dict[str, str] | None,
        log_level: str,
        enabled: bool,
        policies: dict[str, Any],
        actor: str,
        folder: str = "",
        tags: tuple[str, ...] = (),
        cloned_from: UUID | None = None,
        parameters_schema: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.folder = folder
        self.tags = list(tags)
        self.cloned_from = cloned_from
        self.description = description
        self.job_type = job_type
        self.program = program
        self.parameters = parameters
        self.parameters_schema = parameters_schema
        self.schedule = schedule
        self.log_level = log_level
        self.enabled = enabled
        self.policies = policies
        self.created_by = actor
        self.secrets: dict[str, dict[str, Any]] = {}
        self.deleted = False
        self.name_shared_with: UUID | None = None

    def __repr__(self) -> str:
        # The default repr lists every attribute; ours leaves the secrets' ciphertexts out.
        return (
            f"Job(id={self.id}, version={self.version}, name={self.name!r}, "
            f"job_type={self.job_type!r}, secrets={sorted(self.secrets)})"
        )

    def base_parameters(self) -> dict[str, Any]:
        """What a run of the job gets before overrides: its schema's defaults, then its own
        parameters (stored as given, so a default changed later reaches every run)."""
        return typed.base_parameters(self.parameters_schema, self.parameters)

    @property
    def timeout_seconds(self) -> int | None:
        return self.policies.get("timeout_seconds")

    def configuration(self) -> dict[str, Any]:
        """What the job is set to do (no secrets, no policies): the shape every view of a
        replayed job starts from."""
        return {
            "id": self.id,
            "version": self.version,
            "name": self.name,
            "description": self.description,
            "job_type": self.job_type,
            "program": self.program,
            "parameters": self.parameters,
            "parameters_schema": self.parameters_schema,
            "schedule": self.schedule,
            "log_level": self.log_level,
            "enabled": self.enabled,
            "folder": self.folder,
            "tags": list(self.tags),
        }

    def secret_names(self) -> list[dict[str, Any]]:
        return [
            {"name": name, "updated_at": info["updated_at"], "updated_by": info["updated_by"]}
            for name, info in sorted(self.secrets.items())
        ]

    def check_not_deleted(self) -> None:
        if self.deleted:
            raise NotFound("job", self.id)

    # Commands. Each validates, does nothing when nothing would change, and records one event.

    def rename(self, name: str, actor: str) -> None:
        self.check_not_deleted()
        name = values.job_name(name)
        if name != self.name:
            self.trigger_event(self.Renamed, name=name, previous=self.name, actor=actor)

    def change_description(self, description: str, actor: str) -> None:
        self.check_not_deleted()
        description = values.description(description)
        if description != self.description:
            self.trigger_event(
                self.DescriptionChanged,
                description=description,
                previous=self.description,
                actor=actor,
            )

    def change_program(self, program: dict[str, Any], actor: str) -> None:
        """`program` must already be checked against the job type's schema by the caller."""
        self.check_not_deleted()
        program = values.json_object(program, "program")
        if program != self.program:
            self.trigger_event(
                self.ProgramChanged, program=program, previous=self.program, actor=actor
            )

    def change_parameters(self, parameters: dict[str, Any], actor: str) -> None:
        self.check_not_deleted()
        parameters = values.parameters(parameters)
        if parameters != self.parameters:
            self.trigger_event(
                self.ParametersChanged,
                parameters=parameters,
                previous=self.parameters,
                actor=actor,
            )

    def change_parameters_schema(self, schema: dict[str, Any] | None, actor: str) -> None:
        """`schema` (None: no schema) must already be checked as JSON Schema by the caller,
        and the job's parameters against it; the domain holds it to the supported subset."""
        self.check_not_deleted()
        schema = None if schema is None else typed.check_subset(schema)
        if schema != self.parameters_schema:
            self.trigger_event(
                self.ParametersSchemaChanged,
                parameters_schema=schema,
                previous=self.parameters_schema,
                actor=actor,
            )

    def move_to_folder(self, folder: object, actor: str) -> None:
        self.check_not_deleted()
        folder = values.folder(folder)
        if folder != self.folder:
            self.trigger_event(self.FolderChanged, folder=folder, previous=self.folder, actor=actor)

    def retag(self, tags: object, actor: str) -> None:
        self.check_not_deleted()
        new = tuple(values.tags(tags))
        if list(new) != self.tags:
            self.trigger_event(self.TagsChanged, tags=new, previous=tuple(self.tags), actor=actor)

    def schedule_with(self, schedule: CronSchedule, actor: str) -> None:
        self.check_not_deleted()
        if schedule.to_dict() != self.schedule:
            self.trigger_event(
                self.Scheduled,
                cron=schedule.cron,
                timezone=schedule.timezone,
                previous=self.schedule,
                actor=actor,
            )

    def unschedule(self, actor: str) -> None:
        self.check_not_deleted()
        if self.schedule is not None:
            self.trigger_event(self.Unscheduled, previous=self.schedule, actor=actor)

    def store_secret(self, name: str, ciphertext: str, actor: str) -> None:
        """Record an already-encrypted secret. The plain value never reaches the aggregate."""
        self.check_not_deleted()
        self.trigger_event(
            self.SecretStored,
            name=values.secret_name(name),
            ciphertext=ciphertext,
            replaced=name in self.secrets,
            actor=actor,
        )

    def remove_secret(self, name: str, actor: str) -> None:
        self.check_not_deleted()
        if name not in self.secrets:
            raise NotFound("secret", name)
        self.trigger_event(self.SecretRemoved, name=name, actor=actor)

    def change_log_level(self, log_level: object, actor: str) -> None:
        self.check_not_deleted()
        level = LogLevel.parse(log_level).name
        if level != self.log_level:
            self.trigger_event(
                self.LogLevelChanged, log_level=level, previous=self.log_level, actor=actor
            )

    def enable(self, actor: str) -> None:
        self.check_not_deleted()
        if not self.enabled:
            self.trigger_event(self.Enabled, actor=actor)

    def disable(self, actor: str) -> None:
        self.check_not_deleted()
        if self.enabled:
            self.trigger_event(self.Disabled, actor=actor)

    def change_policies(self, changes: dict[str, Any], actor: str) -> None:
        self.check_not_deleted()
        checked = validate_policies(changes, partial=True)
        new = {k: v for k, v in checked.items() if self.policies.get(k) != v}
        if new:
            previous = {k: self.policies.get(k) for k in new}
            self.trigger_event(self.PoliciesChanged, policies=new, previous=previous, actor=actor)

    def flag_shared_name(self, holder: UUID, actor: str) -> None:
        self.trigger_event(self.NameShared, holder=holder, actor=actor)

    def delete(self, actor: str) -> None:
        self.check_not_deleted()
        self.trigger_event(self.Deleted, actor=actor)


def register(
    *,
    name: object,
    job_type: str,
    program: dict[str, Any],
    actor: str,
    description: object = "",
    parameters: object = None,
    schedule: CronSchedule | None = None,
    log_level: object = "Info",
    enabled: bool = True,
    policies: dict[str, Any] | None = None,
    folder: object = None,
    tags: object = None,
    cloned_from: UUID | None = None,
    parameters_schema: dict[str, Any] | None = None,
) -> Job:
    """Validate everything first, so bad input creates nothing."""
    if not isinstance(enabled, bool):
        raise InvalidInput("enabled", "must be true or false")
    return Job(
        name=values.job_name(name),
        description=values.description(description),
        job_type=values.job_type_name(job_type),
        program=values.json_object(program, "program"),
        parameters=values.parameters(parameters),
        schedule=schedule.to_dict() if schedule else None,
        log_level=LogLevel.parse(log_level).name,
        enabled=enabled,
        policies=validate_policies(policies or {}),
        actor=actor,
        folder=values.folder(folder),
        tags=tuple(values.tags(tags)),
        cloned_from=cloned_from,
        parameters_schema=None
        if parameters_schema is None
        else typed.check_subset(parameters_schema),
    )
