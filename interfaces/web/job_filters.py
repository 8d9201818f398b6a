"""The jobs page's filter, kept in the URL (so a filtered list can be bookmarked, shared and
reloaded), and the folder tree beside it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from domain import values
from domain.errors import InvalidInput
from domain.run_status import RunStatus
from projections.job_order import SORTS
from projections.jobs import JobQuery, JobsView

# The jobs page (the dashboard is at "/").
PATH = "/jobs"
STATUSES = tuple(status.value for status in RunStatus)
# What the sort menu says for each of projections.jobs.SORTS.
SORT_WORDS = {
    "name": "Name",
    "last_run": "Last run, newest first",
    "last_status": "Last run's status",
    "next_run": "Next run",
}


@dataclass(frozen=True)
class JobFilter:
    q: str = ""
    folder: str = ""
    tags: tuple[str, ...] = ()
    status: str = ""
    enabled: str = ""  # "", "true" or "false"
    job_type: str = ""
    sort: str = "name"

    @classmethod
    def from_query(cls, params: Any) -> JobFilter:
        """The filter in a query string; InvalidInput naming the first parameter at fault.
        `q` as the API names it (`name` is what links from before the search carry),
        `type` or `job_type`."""
        query = (params.get("q") or params.get("name") or "").strip()
        if "\x00" in query:
            raise InvalidInput("q", "a search cannot contain NUL characters")
        status = params.get("status") or ""
        if status and status not in STATUSES:
            raise InvalidInput("status", f"{status!r} is not a run status")
        enabled = params.get("enabled") or ""
        if enabled not in ("", "true", "false"):
            raise InvalidInput("enabled", "must be true or false")
        sort = params.get("sort") or "name"
        if sort not in SORTS:
            raise InvalidInput("sort", f"{sort!r} is not one of {', '.join(SORTS)}")
        job_type = params.get("type") or params.get("job_type") or ""
        if job_type:
            values.job_type_name(job_type)
        return cls(
            q=query,
            folder=values.folder(params.get("folder") or ""),
            tags=tuple(values.tags(params.getlist("tag"))),
            status=status,
            enabled=enabled,
            job_type=job_type,
            sort=sort,
        )

    def query(self) -> JobQuery:
        """The jobs view's query for this filter."""
        return JobQuery(
            search=self.q or None,
            folder=self.folder or None,
            tags=self.tags,
            status=self.status or None,
            enabled=None if not self.enabled else self.enabled == "true",
            job_type=self.job_type or None,
        )

    def url(self, cursor: str | None = None, **changes: Any) -> str:
        """The jobs page's address with this filter, changed by `changes`, at `cursor`."""
        wanted = replace(self, **changes)
        pairs: list[tuple[str, str]] = [
            (key, value)
            for key, value in (
                ("q", wanted.q),
                ("folder", wanted.folder),
                ("status", wanted.status),
                ("enabled", wanted.enabled),
                ("type", wanted.job_type),
                ("sort", "" if wanted.sort == "name" else wanted.sort),
            )
            if value
        ]
        pairs += [("tag", tag) for tag in wanted.tags]
        if cursor:
            pairs.append(("cursor", cursor))
        return PATH + "?" + urlencode(pairs) if pairs else PATH

    def with_tag_toggled(self, tag: str) -> str:
        tags = tuple(t for t in self.tags if t != tag) if tag in self.tags else (*self.tags, tag)
        return self.url(tags=tags)

    @property
    def active(self) -> bool:
        return self.url(sort="name") != PATH


@dataclass
class FolderNode:
    name: str  # the last segment
    path: str
    count: int = 0  # jobs in this folder and its subfolders
    children: list[FolderNode] = field(default_factory=list)


def folder_tree(counts: Mapping[str, int]) -> list[FolderNode]:
    """The folders holding jobs, with every folder above them, as a tree by name; each
    node counts the jobs in it and below it. Jobs in no folder ("") are not in the tree."""
    roots: dict[str, FolderNode] = {}
    nodes: dict[str, FolderNode] = {}
    for path, count in counts.items():
        if not path:
            continue
        parent: FolderNode | None = None
        segments = path.split("/")
        for depth in range(1, len(segments) + 1):
            sub = "/".join(segments[:depth])
            node = nodes.get(sub)
            if node is None:
                node = nodes[sub] = FolderNode(segments[depth - 1], sub)
                if parent is None:
                    roots[sub] = node
                else:
                    parent.children.append(node)
            node.count += count
            parent = node
    for node in nodes.values():
        node.children.sort(key=lambda child: child.name.casefold())
    return sorted(roots.values(), key=lambda node: node.name.casefold())


def filter_context(view: JobsView, wanted: JobFilter) -> dict[str, Any]:
    """What the jobs page shows beside the list: the filter, its choices, the folder tree
    and the tags with their counts (one grouped read each)."""
    folders = view.job_folders()
    return {
        "filter": wanted,
        "folders": folder_tree(folders),
        "unfiled": folders.get("", 0),
        "tags": sorted(view.job_tags().items(), key=lambda item: item[0].casefold()),
        "statuses": STATUSES,
        "sorts": SORT_WORDS,
    }
