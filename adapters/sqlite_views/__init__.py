"""The four read-model views in SQLite: each a TrackingRecorder, built by the SQLite factory.

`InfrastructureFactory.construct(env).tracking_recorder(SQLiteJobsView)` constructs one and
creates its tables; rows and tracking are written in one transaction on the same file.
"""

from __future__ import annotations

from adapters.sqlite_views.audit import SQLiteAuditView
from adapters.sqlite_views.jobs import SQLiteJobsView
from adapters.sqlite_views.logs import SQLiteLogsView
from adapters.sqlite_views.runs import SQLiteRunsView

__all__ = ["SQLiteAuditView", "SQLiteJobsView", "SQLiteLogsView", "SQLiteRunsView"]
