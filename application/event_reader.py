"""Reading the events of some topics stored after a position, page by page.

The scheduler and the workers each follow a few event classes (jobs and runs, runs only)
through the notification log. The recorder filters by topic, so a reader never decodes the
log batches that make up most of the log; it pages so that a long catch-up holds no more than
a page in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from application.app import JobLedger


def pages_after(
    app: JobLedger, position: int, topics: Sequence[str], page_size: int
) -> Iterator[tuple[list[Any], int]]:
    """Yield (events, id of the last notification) per page after `position`, until a page
    comes back short. The caller applies each page, then moves its position to that id: a
    page that fails to apply is read again next time."""
    recorder, mapper = app.recorder, app.mapper
    while True:
        page = recorder.select_notifications(
            start=position, limit=page_size, topics=topics, inclusive_of_start=False
        )
        if not page:
            return
        yield [mapper.to_domain_event(n) for n in page], page[-1].id
        position = page[-1].id
        if len(page) < page_size:
            return
