"""What the scheduler reads of the log: the topics it follows, and a registered job as its
index keeps it."""

from __future__ import annotations

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from domain.job import Job
from domain.job_policies import DEFAULT_POLICIES
from domain.parameters_schema import defaults
from domain.run import Run
from scheduler.job_index import IndexedJob, JobIndex


def event_topics() -> tuple[str, ...]:
    # Every Job event (each one moves the job's version, which a run records) and the run
    # events that move a run in or out of queued/running. Never the run logs.
    job_events = [
        cls
        for cls in vars(Job).values()
        if isinstance(cls, type) and issubclass(cls, Job.Event) and cls is not Job.Event
    ]
    run_events = [
        cls
        for cls in vars(Run).values()
        if isinstance(cls, type)
        and issubclass(cls, Aggregate.Event)
        and (cls in (Run.Requested, Run.Started) or issubclass(cls, Run.Finished))
    ]
    return tuple(sorted({get_topic(cls) for cls in job_events + run_events}))


def indexed_job(event: Job.Registered, index: JobIndex) -> IndexedJob:
    """A newly registered job as the index holds it (its parsed schedule shared by `index`)."""
    policies = {**DEFAULT_POLICIES, **event.policies}
    schedule = event.schedule
    return IndexedJob(
        job_id=event.originator_id,
        version=event.originator_version,
        name=event.name,
        job_type=event.job_type,
        parameters=event.parameters,
        defaults=defaults(event.parameters_schema),
        log_level=event.log_level,
        timeout_seconds=policies["timeout_seconds"],
        schedule=(
            index.schedule_for(schedule["cron"], schedule.get("timezone", "UTC"))
            if schedule
            else None
        ),
        enabled=event.enabled,
        overlap=policies["overlap"],
        misfire=policies["misfire"],
    )
