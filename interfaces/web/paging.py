"""Numbered pages and totals on the long lists (jobs, runs, audit): "51–100 of 1,234" and
links to the first, nearby and last pages.

A numbered link jumps with an offset (`?page=N`: the store skips (N-1) x page size rows;
on 10,000 jobs that is at most 200 pages of a few milliseconds each), so any page can be
reached in one step. "Next" keeps following the keyset cursor, with the page number it
leads to beside it (`?cursor=...&page=N+1`): reading on page after page stays exact while
rows are added or removed meanwhile, which an offset would not (it would skip or repeat
rows). The number only labels a cursor's page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from interfaces.web.auth import PageError

MAX_PAGE = 100_000  # far beyond any list: 5 million rows at 50 a page
NEARBY = 2  # pages linked on each side of the current one


@dataclass(frozen=True)
class Pager:
    """Where a page is in its list: `base` is the list's address with its filter."""

    page: int
    size: int
    total: int
    shown: int
    base: str
    next_cursor: str | None = None

    @property
    def last_page(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def summary(self) -> str:
        """'51–100 of 1,234' (empty for an empty list)."""
        if not self.shown:
            return f"none of {self.total:,}" if self.total else ""
        first = (self.page - 1) * self.size + 1
        return f"{first:,}–{first + self.shown - 1:,} of {self.total:,}"

    def url(self, page: int, cursor: str | None = None) -> str:
        pairs = [] if page == 1 and cursor is None else [f"page={page}"]
        if cursor is not None:
            pairs.insert(0, f"cursor={cursor}")  # cursors are URL-safe base64
        if not pairs:
            return self.base
        return self.base + ("&" if "?" in self.base else "?") + "&".join(pairs)

    def links(self) -> list[int | None]:
        """The page numbers to link, None where a run of pages is left out."""
        wanted = {1, self.last_page, *range(self.page - NEARBY, self.page + NEARBY + 1)}
        numbers = sorted(n for n in wanted if 1 <= n <= self.last_page)
        shown: list[int | None] = []
        for number in numbers:
            if shown and shown[-1] is not None and number > shown[-1] + 1:
                shown.append(None)
            shown.append(number)
        return shown

    @property
    def next_url(self) -> str | None:
        if self.next_cursor is None:
            return None
        return self.url(self.page + 1, self.next_cursor)


def page_of(params: Any, size: int) -> tuple[int, int, str | None]:
    """(page number, offset, cursor) from a list's query: a cursor's page is read on from
    the cursor (offset 0); a numbered page without one is reached by offset."""
    cursor = params.get("cursor") or None
    raw = params.get("page") or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise PageError(400, "Bad page link", "That page number is not valid.")
    page = int(raw)
    return page, 0 if cursor else (page - 1) * size, cursor
