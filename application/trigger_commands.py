"""Commands over webhook triggers: create, list and revoke a job's triggers, and request the
run a call to a trigger asks for, recording every call on the audit trail."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.base import LedgerBase
from application.run_commands import RunCommands
from domain import trigger as trigger_model
from domain import webhook_call
from domain.errors import Conflict, NotFound, NotPermitted
from domain.job import Job
from domain.run import Run
from domain.trigger import JobTriggers, Trigger


class TriggerCommands(RunCommands, LedgerBase):
    """Mixed into the application: webhooks that start runs."""

    def create_trigger(self, job_id: UUID, name: object, *, actor: str) -> tuple[Trigger, str]:
        """A new trigger for the job: (the trigger, its token, to show once and never again).
        Names are unique among the job's live triggers."""
        job = self.get_job(job_id)
        listing = self._listing(job.id)
        trigger, token = trigger_model.create(
            job_id=job.id, job_name=job.name, name=name, actor=actor
        )
        listing.add(trigger, actor=actor)
        self._save(listing, trigger)
        return trigger, token

    def job_triggers(self, job_id: UUID) -> list[dict[str, Any]]:
        """The job's live triggers, oldest first: never a token or its hash."""
        # Read from the job's small JobTriggers stream rather than a view: a handful of
        # rows per job did not earn a new table on two stores, and the stream is what keeps
        # names unique anyway.
        job = self.get_job(job_id)
        return self._listing(job.id).listing()

    def revoke_trigger(self, job_id: UUID, trigger_id: UUID, *, actor: str) -> dict[str, Any]:
        """Revoke a live trigger of this job: its token and URL start no run from now on."""
        job = self.get_job(job_id)
        trigger = self._load("trigger", Trigger, trigger_id)
        if trigger.job_id != job.id or not trigger.live:
            raise NotFound("trigger", trigger_id)
        listing = self._listing(job.id)
        trigger.revoke(job_name=job.name, actor=actor)
        listing.remove(trigger.id, actor=actor)
        self._save(trigger, listing)
        return trigger.summary()

    def live_trigger(self, trigger_id: UUID) -> Trigger | None:
        """The trigger with this id if it is live, else None (unknown or revoked alike)."""
        try:
            trigger = self._load("trigger", Trigger, trigger_id)
        except NotFound:
            return None
        return trigger if trigger.live else None

    def trigger_job(self, trigger: Trigger) -> Job | None:
        """The live job a trigger starts, or None once the job is deleted."""
        try:
            return self.get_job(trigger.job_id)
        except NotFound:
            return None

    def request_webhook_run(
        self, trigger: Trigger, job: Job, overrides: dict[str, Any], *, client: str
    ) -> Run:
        """The run an authenticated call asks for, saved with the call's audit record.

        Its trigger and actor are "webhook:<trigger name>". `overrides` (the body's
        top-level keys) may only name the job's `overridable_parameters`, never one of its
        secrets; Conflict if the job is disabled. Refused, nothing runs."""
        if not job.enabled:
            raise Conflict(f"job {job.id} is disabled; enable it to let its triggers run it")
        allowed = set(job.policies.get("overridable_parameters") or ())
        refused = sorted(key for key in overrides if key not in allowed or key in job.secrets)
        if refused:
            raise NotPermitted(
                f"body.{refused[0]}",
                f"{', '.join(refused)}: a webhook may override only the job's "
                f"overridable_parameters ({', '.join(sorted(allowed)) or 'none'})",
            )
        actor = trigger_model.run_trigger(trigger.name)
        run = self.new_run(
            job, actor=actor, parameters=overrides or None, trigger=actor, overrides_field="body"
        )
        record = webhook_call.accepted(
            actor=actor,
            trigger_id=str(trigger.id),
            job_id=job.id,
            job_name=job.name,
            client=client,
            run_id=run.id,
            parameters=run.parameters,
        )
        self._save(run, record)
        return run

    def record_webhook_refused(
        self,
        trigger_id: str,
        trigger: Trigger | None,
        *,
        client: str,
        status: int,
        reason: str,
    ) -> None:
        """A refused call, on the audit trail: which trigger (named only when it is a live
        one), from where, the status answered and why; never what was presented."""
        self._save(
            webhook_call.refused(
                actor=None if trigger is None else trigger_model.run_trigger(trigger.name),
                trigger_id=trigger_id,
                job_id=None if trigger is None else trigger.job_id,
                job_name=None if trigger is None else trigger.job_name,
                client=client,
                status=status,
                reason=reason,
            )
        )

    def _listing(self, job_id: UUID) -> JobTriggers:
        try:
            return self._load("triggers", JobTriggers, trigger_model.job_triggers_id(job_id))
        except NotFound:
            return trigger_model.start_listing(job_id)
