"""The four read-model views in PostgreSQL: each a TrackingRecorder, built by PostgresFactory.

`InfrastructureFactory.construct(env).tracking_recorder(PostgresJobsView)` constructs one
and creates its tables in the datastore's schema (POSTGRES_SCHEMA, which must exist).
"""

from __future__ import annotations

from adapters.postgres_views.audit import PostgresAuditView
from adapters.postgres_views.jobs import PostgresJobsView
from adapters.postgres_views.logs import PostgresLogsView
from adapters.postgres_views.runs import PostgresRunsView

__all__ = ["PostgresAuditView", "PostgresJobsView", "PostgresLogsView", "PostgresRunsView"]
