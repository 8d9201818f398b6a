"""A job's audit entries grouped by save: one Save of the job form is one change on a page.

The store keeps one event per changed field, and a save writes its events in one
transaction (application.job_commands: `register_job`, `update_job`): at consecutive
versions, by one actor, a few milliseconds apart, each about a different field, in the
order those commands apply changes. The audit view does not record the transaction, so
the pages regroup by exactly those marks: consecutive versions of one job by one actor,
each within SAVE_WINDOW of the one before, in SAVE_ORDER, none changing a field the group
has already changed. Two commands by one actor that fit all of that (a script registering a
job and setting its secret 0.1 s later) read as one change; nothing is hidden, since the
group lists every field with its before and after.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from interfaces.web.script_diff import program_diffs
from interfaces.web.wording import describe_events, field_label, form_order, value_words

# Within a save the events are milliseconds apart (a name check may read the store between
# them); two saves from the page are seconds apart.
SAVE_WINDOW = timedelta(milliseconds=250)

# The order a save records its events in: a registration (its secrets follow it), or the
# changes of `update_job`. An event not here (a secret removed, a deletion) is a save alone.
SAVE_ORDER: dict[str, int] = {
    name: rank
    for rank, names in enumerate(
        [
            ("Registered",),
            ("Renamed",),
            ("DescriptionChanged",),
            ("ProgramChanged",),
            ("ParametersChanged",),
            ("Scheduled", "Unscheduled"),
            ("LogLevelChanged",),
            ("Enabled", "Disabled"),
            ("PoliciesChanged",),
        ]
    )
    for name in names
}
_SECRET_STORED = "SecretStored"


def _in_order(group: list[dict[str, Any]], entry: str) -> bool:
    """Whether the save that recorded `group` can have recorded `entry` next."""
    first, last = group[0]["event"], group[-1]["event"]
    if entry == _SECRET_STORED:  # only a registration stores secrets with other events
        return first == "Registered" and last in ("Registered", _SECRET_STORED)
    if last not in SAVE_ORDER or entry not in SAVE_ORDER:
        return False
    return SAVE_ORDER[entry] > SAVE_ORDER[last]


def _joins(group: list[dict[str, Any]], entry: dict[str, Any]) -> bool:
    last = group[-1]
    if not _in_order(group, entry["event"]):
        return False
    if (entry["job_id"], entry["actor"]) != (last["job_id"], last["actor"]):
        return False
    if entry["version"] != last["version"] + 1:
        return False
    if not timedelta(0) <= entry["at"] - last["at"] <= SAVE_WINDOW:
        return False
    changed = {field for member in group for field in member["changes"]}
    return not changed & set(entry["changes"])


def change_rows(changes: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """An event's changes as table rows: field, its label, before, after (secrets "(set)");
    a program's row also has `diffs`, its changed script or body line by line."""
    rows = []
    for name, change in sorted(changes.items(), key=lambda item: form_order(item[0])):
        row = {
            "field": name,
            "label": field_label(name),
            "before": _shown(name, change.get("from")),
            "after": _shown(name, change.get("to")),
        }
        if name == "program":
            row["diffs"] = program_diffs(change.get("from"), change.get("to"))
        rows.append(row)
    return rows


def _shown(field: str, value: Any) -> Any:
    """A schedule reads as its expression and zone; other values are shown as they are."""
    if field == "schedule" and isinstance(value, dict):
        return value_words(field, value)
    return value


def group_saves(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Audit entries (oldest first) as saves, oldest first: each a dict with the last
    entry's keys, plus `first_version`, `versions`, `events`, `description` and `rows`."""
    groups: list[list[dict[str, Any]]] = []
    for entry in entries:
        if groups and _joins(groups[-1], entry):
            groups[-1].append(entry)
        else:
            groups.append([entry])
    return [_save(group) for group in groups]


def _save(group: list[dict[str, Any]]) -> dict[str, Any]:
    last = group[-1]
    return {
        **last,
        "first_version": group[0]["version"],
        "versions": [entry["version"] for entry in group],
        "events": [entry["event"] for entry in group],
        "description": describe_events([(e["event"], e["changes"]) for e in group]),
        "rows": [row for entry in group for row in change_rows(entry["changes"])],
    }
