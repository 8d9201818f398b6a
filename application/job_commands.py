"""Commands that change a job's configuration, and the queries that replay its history."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from application import job_names
from application.base import LedgerBase
from application.job_checks import POLICY_FIELDS, check_job_fields, parse_schedule
from application.parameter_checks import check_parameters
from domain import job as job_model
from domain import values
from domain.errors import Conflict, InvalidInput, NameTaken
from domain.job import Job
from domain.job_name import JobName
from domain.parameters_schema import base_parameters

# parse_schedule is imported from here by callers that build schedules (the benchmarks).
__all__ = ["POLICY_FIELDS", "UPDATABLE", "JobCommands", "parse_schedule"]

# Fields a PATCH may change, in the order their events are recorded.
UPDATABLE = (
    "name",
    "description",
    "program",
    "parameters_schema",
    "parameters",
    "schedule",
    "log_level",
    "enabled",
    "timeout_seconds",
    "overlap",
    "misfire",
    "max_retries",
    "retry_backoff_seconds",
    "overridable_parameters",
    "notify",
    "long_running_seconds",
    "folder",
    "tags",
    "log_retention_days",
    "run_retention_days",
    "keep_last_runs",
)


class JobCommands(LedgerBase):
    """Mixed into the application: register and change jobs."""

    def register_job(
        self,
        *,
        name: object,
        job_type: str,
        program: object,
        actor: str,
        description: object = "",
        parameters: object = None,
        secrets: Mapping[str, str] | None = None,
        schedule: object = None,
        log_level: object = "Info",
        enabled: bool = True,
        policies: dict[str, Any] | None = None,
        folder: object = None,
        tags: object = None,
        cloned_from: UUID | None = None,
        parameters_schema: object = None,
    ) -> Job:
        # Every field is checked before anything is built, so one refusal names them all.
        fields = {
            "name": name,
            "description": description,
            "program": program,
            "parameters": parameters,
            "parameters_schema": parameters_schema,
            "secrets": secrets,
            "schedule": schedule,
            "log_level": log_level,
            "enabled": enabled,
            "folder": folder,
            "tags": tags,
        }
        if policies is not None:
            if not isinstance(policies, Mapping):
                raise InvalidInput("policies", "must be an object of run policies")
            fields.update(policies)
        checked = check_job_fields(self.job_types, job_type, fields)
        secrets = checked["secrets"]
        schema = checked["parameters_schema"]
        check_parameters(schema, base_parameters(schema, checked["parameters"]))
        job = job_model.register(
            name=checked["name"],
            job_type=job_type,
            program=checked["program"],
            actor=actor,
            description=checked["description"],
            parameters=checked["parameters"],
            schedule=checked["schedule"],
            log_level=checked["log_level"],
            enabled=enabled,
            policies={key: checked[key] for key in POLICY_FIELDS if key in checked},
            folder=checked["folder"],
            tags=checked["tags"],
            cloned_from=cloned_from,
            parameters_schema=checked["parameters_schema"],
        )
        # Everything is valid: encrypt, then record the job and its secrets in one write.
        for secret, value in secrets.items():
            job.store_secret(secret, self.vault.encrypt(job.id, secret, value), actor)
        reservation = job_names.claim(self, job.name, job.id)
        self._save_named(job, job.name, reservation)
        return job

    def check_job_fields(
        self, job_type: object, fields: Mapping[str, Any], *, change: bool = False
    ) -> None:
        """Check a job's fields (any of register_job's, or with `change`, of update_job's)
        without saving anything: one InvalidInput naming every field at fault, if any. For
        a form or a request that was refused before reaching a command, so its answer
        names the remaining bad fields too."""
        check_job_fields(self.job_types, job_type, fields, allowed=UPDATABLE if change else None)

    def update_job(
        self,
        job_id: UUID,
        changes: Mapping[str, Any],
        *,
        actor: str,
        expected_version: int | None = None,
    ) -> Job:
        """Apply several field changes at once; each changed field becomes its own event."""
        job = self.get_job(job_id, expected_version=expected_version)
        # Every change is checked before any is applied: one refusal names every bad field.
        checked = check_job_fields(self.job_types, job.job_type, changes, allowed=UPDATABLE)
        if "parameters_schema" in checked or "parameters" in checked:
            # The job's parameters as they will be must satisfy its schema as it will be.
            schema = checked.get("parameters_schema", job.parameters_schema)
            parameters = checked.get("parameters", job.parameters)
            check_parameters(schema, base_parameters(schema, parameters))
        reservations: list[JobName] = []
        if "name" in checked:
            old_name = job.name
            job.rename(checked["name"], actor)
            reservations = job_names.renaming(self, old_name, job.name, job.id)
        if "description" in checked:
            job.change_description(checked["description"], actor)
        if "folder" in checked:
            job.move_to_folder(checked["folder"], actor)
        if "tags" in checked:
            job.retag(checked["tags"], actor)
        if "program" in checked:
            job.change_program(checked["program"], actor)
        if "parameters_schema" in checked:
            job.change_parameters_schema(checked["parameters_schema"], actor)
        if "parameters" in checked:
            job.change_parameters(checked["parameters"], actor)
        if "schedule" in checked:
            schedule = checked["schedule"]
            if schedule is None:
                job.unschedule(actor)
            else:
                job.schedule_with(schedule, actor)
        if "log_level" in checked:
            job.change_log_level(checked["log_level"], actor)
        if "enabled" in checked:
            job.enable(actor) if checked["enabled"] else job.disable(actor)
        policy_changes = {k: checked[k] for k in POLICY_FIELDS if k in checked}
        if policy_changes:
            job.change_policies(policy_changes, actor)
        self._save_named(job, job.name if reservations else None, *reservations)
        return job

    def clone_job(self, job_id: UUID, *, name: object, actor: str) -> tuple[Job, list[str]]:
        """A new job named `name` with the configuration of `job_id` as it is now, and the
        names of the secrets it does not copy (secrets never go to another job: whoever
        clones sets them anew). A clone of a job that holds secrets starts disabled, so
        its schedule does not run it without them before they are set."""
        source = self.get_job(job_id)
        secret_names = sorted(source.secrets)
        clone = self.register_job(
            name=name,
            job_type=source.job_type,
            program=source.program,
            actor=actor,
            description=source.description,
            parameters=source.parameters,
            parameters_schema=source.parameters_schema,
            schedule=source.schedule,
            log_level=source.log_level,
            enabled=source.enabled and not secret_names,
            policies=dict(source.policies),
            folder=source.folder,
            tags=source.tags,
            cloned_from=source.id,
        )
        return clone, secret_names

    def _save_named(self, job: Job, name: str | None, *reservations: Any) -> None:
        """Save the job with the name reservations it changes, in one write. A conflict
        there is the name taken at the same moment, if another job now holds it."""
        try:
            self._save(job, *reservations)
        except Conflict:
            if name is not None and job_names.held_by_other(self, name, job.id):
                raise NameTaken(name) from None
            raise

    def _change(self, job_id: UUID, expected_version: int | None, method: str, *args: Any) -> Job:
        job = self.get_job(job_id, expected_version=expected_version)
        getattr(job, method)(*args)
        self._save(job)
        return job

    def enable_job(self, job_id: UUID, *, actor: str, expected_version: int | None = None) -> Job:
        return self._change(job_id, expected_version, "enable", actor)

    def disable_job(self, job_id: UUID, *, actor: str, expected_version: int | None = None) -> Job:
        return self._change(job_id, expected_version, "disable", actor)

    def store_secret(
        self,
        job_id: UUID,
        name: str,
        value: str,
        *,
        actor: str,
        expected_version: int | None = None,
    ) -> Job:
        name = values.secret_name(name)
        value = values.secret_value(value)
        job = self.get_job(job_id, expected_version=expected_version)
        job.store_secret(name, self.vault.encrypt(job.id, name, value), actor)
        self._save(job)
        return job

    def remove_secret(
        self, job_id: UUID, name: str, *, actor: str, expected_version: int | None = None
    ) -> Job:
        return self._change(job_id, expected_version, "remove_secret", name, actor)

    def delete_job(self, job_id: UUID, *, actor: str, expected_version: int | None = None) -> Job:
        job = self.get_job(job_id, expected_version=expected_version)
        job.delete(actor)
        # The name is free again, in the same write as the deletion.
        self._save(job, job_names.release(self, job.name, job.id))
        # Crypto-shredding: with the data key gone, the secrets in the immutable history
        # can never be decrypted again.
        self.vault.shred(job_id)
        return job

    # History, for diagnosis.

    def job_at(
        self,
        job_id: UUID,
        *,
        version: int | None = None,
        at: datetime | None = None,
    ) -> Job:
        """The job as it was at a past version or time (deleted jobs included).

        A time without a fraction of a second means the whole of that second: pages and
        the command line show times to the second, so the second a user reads there must
        include the events stored within it. A time with a fraction is taken as it is."""
        if at is None:
            return self._load("job", Job, job_id, version=version)
        if at.tzinfo is None:
            raise InvalidInput("at", "must include a time zone offset")
        history = self.job_history(job_id)
        if at.microsecond == 0 and at.year < 9999:  # the last year has no next second
            end = at + timedelta(seconds=1)
            events = [e for e in history if e.timestamp < end]
        else:
            events = [e for e in history if e.timestamp <= at]
        if not events:
            raise InvalidInput("at", f"job {job_id} did not exist yet at {at.isoformat()}")
        return self._load("job", Job, job_id, version=events[-1].originator_version)

    def job_history(self, job_id: UUID) -> list[Job.Event]:
        """Every event of the job, oldest first."""
        events = [e for e in self.events.get(job_id) if isinstance(e, Job.Event)]
        if not events:
            self._load("job", Job, job_id)  # raises NotFound
        return events
