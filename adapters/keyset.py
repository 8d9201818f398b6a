"""The filtered, keyset-paginated listing query both stores' views build the same way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def keyset_query(
    select: str,
    conditions: Mapping[str, str],
    filters: Mapping[str, Any],
    after: Sequence[Any] | None,
    order: str,
) -> tuple[str, list[Any]]:
    """`select` with the conditions of the filters that are set, and of the cursor's key.

    `conditions` maps each filter name (and "cursor") to its SQL condition; `after` is the
    cursor's sort key as query parameters, or None on the first page. Returns the query and
    its parameters, without the LIMIT's value, which the caller appends.
    """
    where = [conditions[key] for key, value in filters.items() if value is not None]
    params = [value for value in filters.values() if value is not None]
    if after is not None:
        where.append(conditions["cursor"])
        params += after
    return select + (" WHERE " + " AND ".join(where) if where else "") + order, params
