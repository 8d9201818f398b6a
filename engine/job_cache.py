"""The jobs a worker runs, by (id, version): a job version never changes, so it is cached."""

from __future__ import annotations

import threading
from collections import OrderedDict
from uuid import UUID

from application.app import JobLedger
from domain.job import Job

JOB_CACHE_SIZE = 1024


class JobCache:
    """A bounded, thread-safe cache of job versions loaded from the application."""

    def __init__(self, app: JobLedger, size: int = JOB_CACHE_SIZE) -> None:
        self._app = app
        self._size = size
        self._jobs: OrderedDict[tuple[UUID, int], Job] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, job_id: UUID, version: int) -> Job:
        key = (job_id, version)
        with self._lock:
            job = self._jobs.get(key)
            if job is not None:
                self._jobs.move_to_end(key)
                return job
        # Loaded outside the lock: two threads may both load a version, never wait on a load.
        job = self._app.job_at(job_id, version=version)
        with self._lock:
            self._jobs[key] = job
            while len(self._jobs) > self._size:
                self._jobs.popitem(last=False)
        return job
