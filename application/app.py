"""The JobLedger application: the only place events are saved."""

from __future__ import annotations

from application.access_commands import AccessCommands
from application.firing_commands import FiringCommands
from application.job_commands import JobCommands
from application.notification_commands import NotificationCommands
from application.run_commands import RunCommands
from application.trigger_commands import TriggerCommands


class JobLedger(
    JobCommands,
    TriggerCommands,
    RunCommands,
    FiringCommands,
    AccessCommands,
    NotificationCommands,
):
    """Jobs, runs, run logs, access, webhook triggers and notifications as event-sourced
    aggregates in one event store."""
