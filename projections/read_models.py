"""The read models as one typed value: what queries read, and what the follower keeps
up to date through one projection each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from projections.audit import AuditProjection, AuditView
from projections.base import BatchProjection
from projections.jobs import JobsProjection, JobsView
from projections.logs import LogsProjection, LogsView
from projections.notifications import NotificationsProjection, NotificationsView
from projections.runs import RunsProjection, RunsView


@dataclass(frozen=True)
class ReadModels:
    """The jobs, runs, logs, audit and notifications views of one store (each backend
    opens its own kind)."""

    jobs: JobsView
    runs: RunsView
    logs: LogsView
    audit: AuditView
    notifications: NotificationsView  # channels, triggers, deliveries

    def projections(self) -> list[BatchProjection[Any]]:
        """One projection per view, in the order the follower feeds them."""
        return [
            JobsProjection(view=self.jobs),
            RunsProjection(view=self.runs),
            LogsProjection(view=self.logs),
            AuditProjection(view=self.audit),
            NotificationsProjection(view=self.notifications),
        ]
