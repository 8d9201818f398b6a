"""Acting on many jobs or runs at once: each one through its own single command, so each
change is its own event with the actor, exactly as if it had been made one by one.

One refusal does not stop the rest: each id gets its own outcome (done, or the service's
error for it). A failure of the store itself is not an outcome: it propagates, and the ids
handled before it stay done (each command is its own transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, Protocol
from uuid import UUID

from domain.errors import JobLedgerError

JobAction = Literal["enable", "disable", "run", "delete"]
JOB_ACTIONS: tuple[JobAction, ...] = ("enable", "disable", "run", "delete")
# The role each action needs, as for its single-job route: changing a job is for
# administrators, running one is for operators too.
ROLE_OF: dict[str, str] = {
    "enable": "admin",
    "disable": "admin",
    "delete": "admin",
    "run": "operator",
    "cancel": "operator",
}
MAX_IDS = 500  # a page of jobs or runs, ten times over; more is a script's job


class Started(Protocol):
    @property
    def id(self) -> UUID: ...


class Commands(Protocol):
    """The single commands a bulk action is made of (application.app.JobLedger has them)."""

    def enable_job(self, job_id: UUID, *, actor: str) -> object: ...
    def disable_job(self, job_id: UUID, *, actor: str) -> object: ...
    def delete_job(self, job_id: UUID, *, actor: str) -> object: ...
    def request_run(self, job_id: UUID, *, actor: str, override_any: bool = False) -> Started: ...
    def cancel_run(self, run_id: UUID, *, actor: str) -> object: ...


@dataclass(frozen=True)
class Outcome:
    """What happened to one id: `error` is None when it was done; `run_id` is the run a
    "run" started."""

    ident: UUID
    error: JobLedgerError | None = None
    run_id: UUID | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def unique(ids: Iterable[UUID]) -> list[UUID]:
    """The ids in their order, each once: a job named twice is acted on once."""
    return list(dict.fromkeys(ids))


def _each(ids: Iterable[UUID], act: Callable[[UUID], UUID | None]) -> list[Outcome]:
    outcomes = []
    for ident in unique(ids):
        try:
            outcomes.append(Outcome(ident, run_id=act(ident)))
        except JobLedgerError as error:
            outcomes.append(Outcome(ident, error=error))
    return outcomes


def act_on_jobs(
    app: Commands, action: JobAction, job_ids: Iterable[UUID], *, actor: str, override_any: bool
) -> list[Outcome]:
    """Apply `action` to each job, one command (one event, or one run) per job."""

    def act(job_id: UUID) -> UUID | None:
        if action == "run":
            run = app.request_run(job_id, actor=actor, override_any=override_any)
            return run.id
        command = {
            "enable": app.enable_job,
            "disable": app.disable_job,
            "delete": app.delete_job,
        }[action]
        command(job_id, actor=actor)
        return None

    return _each(job_ids, act)


def cancel_runs(app: Commands, run_ids: Iterable[UUID], *, actor: str) -> list[Outcome]:
    """Ask each run to stop: a queued one is cancelled at once, a running one by its worker."""

    def act(run_id: UUID) -> None:
        app.cancel_run(run_id, actor=actor)

    return _each(run_ids, act)
