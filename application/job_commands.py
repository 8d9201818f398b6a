"""Commands that change a job's configuration, and the queries that replay its history."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from application import job_names
from application.base import LedgerBase
from domain import job as job_model
from domain import values
from domain.errors import Conflict, InvalidInput, NameTaken
from domain.job import Job
from domain.job_name import JobName
from domain.job_policies import DEFAULT_POLICIES
from domain.schedule import CronSchedule
from domain.storable import check_json

# Fields a PATCH may change, in the order their events are recorded.
UPDATABLE = (
    "name",
    "description",
    "program",
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
)
# The run-policy fields, sent together as `policies`: the API and the pages use this one.
POLICY_FIELDS = tuple(DEFAULT_POLICIES)


def parse_schedule(schedule: object) -> CronSchedule | None:
    """A schedule is {"cron": ..., "timezone": ...} (timezone optional, default UTC) or null."""
    if schedule is None:
        return None
    if not isinstance(schedule, Mapping):
        raise InvalidInput("schedule", 'must be an object like {"cron": "0 2 * * *"} or null')
    unknown = set(schedule) - {"cron", "timezone"}
    if unknown:
        raise InvalidInput(f"schedule.{sorted(unknown)[0]}", "is not a schedule field")
    cron = schedule.get("cron")
    if not isinstance(cron, str):
        raise InvalidInput("schedule.cron", "must be a CRON expression string")
    timezone = schedule.get("timezone", "UTC")
    if not isinstance(timezone, str):
        raise InvalidInput("schedule.timezone", "must be an IANA time zone name")
    return CronSchedule.parse(cron, timezone)


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
    ) -> Job:
        checked_program = self.job_types.check_program(
            values.job_type_name(job_type), check_json(program, "program")
        )
        secrets = _check_secrets(secrets)
        job = job_model.register(
            name=name,
            job_type=job_type,
            program=checked_program,
            actor=actor,
            description=description,
            parameters=parameters,
            schedule=parse_schedule(schedule),
            log_level=log_level,
            enabled=enabled,
            policies=policies,
        )
        # Everything is valid: encrypt, then record the job and its secrets in one write.
        for secret, value in secrets.items():
            job.store_secret(secret, self.vault.encrypt(job.id, secret, value), actor)
        reservation = job_names.claim(self, job.name, job.id)
        self._save_named(job, job.name, reservation)
        return job

    def update_job(
        self,
        job_id: UUID,
        changes: Mapping[str, Any],
        *,
        actor: str,
        expected_version: int | None = None,
    ) -> Job:
        """Apply several field changes at once; each changed field becomes its own event."""
        unknown = set(changes) - set(UPDATABLE)
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "is not a field that can be changed")
        job = self.get_job(job_id, expected_version=expected_version)
        reservations: list[JobName] = []
        if "name" in changes:
            old_name = job.name
            job.rename(changes["name"], actor)
            reservations = job_names.renaming(self, old_name, job.name, job.id)
        if "description" in changes:
            job.change_description(changes["description"], actor)
        if "program" in changes:
            job.change_program(
                self.job_types.check_program(
                    job.job_type, check_json(changes["program"], "program")
                ),
                actor,
            )
        if "parameters" in changes:
            job.change_parameters(changes["parameters"], actor)
        if "schedule" in changes:
            schedule = parse_schedule(changes["schedule"])
            if schedule is None:
                job.unschedule(actor)
            else:
                job.schedule_with(schedule, actor)
        if "log_level" in changes:
            job.change_log_level(changes["log_level"], actor)
        if "enabled" in changes:
            if not isinstance(changes["enabled"], bool):
                raise InvalidInput("enabled", "must be true or false")
            job.enable(actor) if changes["enabled"] else job.disable(actor)
        policy_changes = {k: changes[k] for k in POLICY_FIELDS if k in changes}
        if policy_changes:
            job.change_policies(policy_changes, actor)
        self._save_named(job, job.name if reservations else None, *reservations)
        return job

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


def _check_secrets(secrets: Mapping[str, str] | None) -> dict[str, str]:
    if secrets is None:
        return {}
    if not isinstance(secrets, Mapping):
        raise InvalidInput("secrets", "must be an object of name to value")
    return {values.secret_name(k): values.secret_value(v) for k, v in secrets.items()}
