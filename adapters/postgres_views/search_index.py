"""The trigram index that makes a job search ("contains, ignoring case") fast on PostgreSQL.

A substring LIKE can use no B-tree; pg_trgm's GIN index serves it. The extension ships with
PostgreSQL's contrib package but creating it needs a privilege a JobLedger role may lack,
so it is created if it can be, and otherwise the search still works, as a scan of the jobs
view (and a warning is logged): correct, just slower on very many jobs.
"""

from __future__ import annotations

import logging

import psycopg
from eventsourcing.persistence import PersistenceError
from eventsourcing.postgres import PostgresDatastore
from psycopg import sql

from adapters.postgres_setup import setup_lock

log = logging.getLogger("jobledger.views")

# The extension is the database's, not a schema's: one lock for every schema creating it.
_EXTENSION_LOCK = "SELECT pg_advisory_xact_lock(hashtext('jobledger.extension.pg_trgm'))"
_FIND_EXTENSION = (
    "SELECT extnamespace::regnamespace::text AS schema FROM pg_extension WHERE extname = 'pg_trgm'"
)
# GIN defers new entries to a pending list that every search scans linearly until a vacuum
# merges it (by default up to 4 MB: after a rebuild of 10,000 jobs, 9 ms a search instead
# of 0.1 ms). A 64 kB list is merged as writes go, keeping searches fast between vacuums.
_INDEX = (
    "CREATE INDEX IF NOT EXISTS view_jobs_search_idx ON {s}.view_jobs"
    " USING gin (search {ops}) WITH (gin_pending_list_limit = 64)"
)


def create_search_index(datastore: PostgresDatastore, schema: str) -> bool:
    """Create pg_trgm (if missing and allowed) and the jobs view's search index; whether
    the index is there."""
    try:
        with datastore.transaction(commit=True) as cursor:
            cursor.execute(_EXTENSION_LOCK)
            cursor.execute(_FIND_EXTENSION)
            if cursor.fetchone() is None:
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        with datastore.transaction(commit=True) as cursor:
            cursor.execute(setup_lock(schema))
            cursor.execute(_FIND_EXTENSION)
            found = cursor.fetchone()
            assert found is not None
            ops = sql.Identifier(str(found["schema"]), "gin_trgm_ops")
            cursor.execute(sql.SQL(_INDEX).format(s=sql.Identifier(schema), ops=ops))
    except (psycopg.Error, PersistenceError) as error:
        log.warning(
            "job search runs without a trigram index in schema %s (pg_trgm: %s); it scans "
            "the jobs view instead",
            schema,
            str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__,
        )
        return False
    return True
