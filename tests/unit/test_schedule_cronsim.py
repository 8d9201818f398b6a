"""Daylight saving against an independent oracle: cronsim, Debian cron's rule in Python.

Around every offset change from 2025 to 2034 in five zones (30-minute shifts on Lord Howe,
midnight changes in Santiago, none at all in Tehran since 2022), for a seeded, generated
set of expressions, our fire list must equal cronsim's. Only the two hours either side of
each change and the next few fires after it are compared: that is where the rule acts,
and it keeps ten years of schedules to a couple of seconds.

cronsim follows Debian cron, close to but not exactly the Vixie cron / Cronos rule that
`domain.schedule` implements. Where they differ the rule wins: every such case is listed
in KNOWN_DIFFERENCES with its reason, the test checks that each listed case does differ
(so the list stays exact), and there our list is checked against the rule itself, applied
literally here to the wall-clock slots cronsim's own matcher names.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import islice, takewhile
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim, CronSimError

from domain.schedule import CronSchedule

LONDON, NEW_YORK, LORD_HOWE = "Europe/London", "America/New_York", "Australia/Lord_Howe"
SANTIAGO, TEHRAN = "America/Santiago", "Asia/Tehran"
ZONES = [LONDON, NEW_YORK, LORD_HOWE, SANTIAGO, TEHRAN]
FIRST_YEAR, LAST_YEAR = 2025, 2034
SPAN = timedelta(minutes=90)  # compared either side of each change; none moves more than 1h
AFTERWARDS = 3  # fires compared after the window, so sparse expressions count too

# Field pieces to combine: fixed values, ranges, lists, steps, and cronsim's L, W and #.
SECONDS = ["0", "30", "*/20", "*/30"]
MINUTES = ["0", "30", "15", "45", "*/15", "*/30", "*", "0,30", "10-20/5", "*/7"]
HOURS = ["*", "0", "1", "2", "3", "23", "1-3", "*/2", "0,2", "22-23", "*/3"]
DAYS = ["*", "*", "*", "1", "L", "15W", "1-7", "LW"]
MONTHS = ["*", "*", "3,4,9,10,11"]
WEEKDAYS = ["*", "*", "*", "0", "SUN", "1-5", "0#1", "5L", "6#2"]


def generated_expressions(count: int = 45, seed: int = 10) -> list[str]:
    rng, found = random.Random(seed), set()
    while len(found) < count:
        parts = [rng.choice(f) for f in (MINUTES, HOURS, DAYS, MONTHS, WEEKDAYS)]
        if parts[2] != "*" and parts[4] != "*" and rng.random() < 0.7:
            parts[4] = "*"  # both day fields restricted is rarer in practice
        if rng.random() < 0.2:
            parts.insert(0, rng.choice(SECONDS))
        found.add(" ".join(parts))
    return sorted(found)


# Hand-picked too: the examples, and each kind of field on each side of the rule.
HAND_PICKED = [
    "0 * * * *",
    "30 * * * *",
    "*/30 1 * * *",
    "30 1 * * *",
    "15 1-3 * * *",
    "0 2 * * *",
    "*/30 * * * *",
    "0 0 * * *",
    "30 0 * * *",
    "30 23 * * *",
    "*/20 30 1 * * *",
    "0 30 1 * * *",
    "0 0 2 * * *",
]
EXPRESSIONS = sorted(set(HAND_PICKED + generated_expressions()))

# Where the rule and cronsim part: (expression, zone) -> why the rule's answer is right.
SIX_FIELD_FIXED = (
    "fixed by the rule (no field starts with *), but cronsim applies Debian's DST handling "
    "to 5-field expressions only: it fires this 6-field one in both passes of a repeated "
    "hour, and not at all on a day whose gap holds it, where the rule fires once at the "
    "first instant after the gap"
)
LORD_HOWE_HALF_HOUR = (
    "interval-based; where Lord Howe's clocks move by 30 minutes cronsim passes matching "
    "slots over: the second pass of the repeated half hour (the issue's '30 * * * *' on "
    "the fall-back night: 14:30Z, 15:00Z, 16:00Z by the rule, no 15:00Z in cronsim), and "
    "the first matching slots after the spring gap; Vixie cron and Cronos fire them all"
)
SANTIAGO_MIDNIGHT_GAP = (
    "interval-based, on the night Santiago's clocks jump from 00:00 to 01:00: cronsim "
    "passes over the slots of the first hour after the gap (01:00 and 01:30 here), which "
    "the clocks do show and the rule fires"
)
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {
    ("0 30 1 * * *", LONDON): SIX_FIELD_FIXED,
    ("0 30 1 * * *", NEW_YORK): SIX_FIELD_FIXED,
    ("0 0 2 * * *", NEW_YORK): SIX_FIELD_FIXED,
    ("0 0 2 * * *", LORD_HOWE): SIX_FIELD_FIXED,
    ("30 * * * *", LORD_HOWE): LORD_HOWE_HALF_HOUR,
    ("*/30 */2 1-7 * *", LORD_HOWE): LORD_HOWE_HALF_HOUR,
    ("* */2 1 3,4,9,10,11 6#2", LORD_HOWE): LORD_HOWE_HALF_HOUR,
    ("*/20 */7 */3 * 3,4,9,10,11 *", LORD_HOWE): LORD_HOWE_HALF_HOUR,
    ("*/20 30 1 * * *", LORD_HOWE): LORD_HOWE_HALF_HOUR,
    ("30 */15 */2 1-7 * 6#2", LORD_HOWE): LORD_HOWE_HALF_HOUR,
    ("*/30 1-3 * 3,4,9,10,11 0#1", SANTIAGO): SANTIAGO_MIDNIGHT_GAP,
}


def changes(zone_name: str) -> list[datetime]:
    """Every offset change from FIRST_YEAR to LAST_YEAR, to the second."""
    zone = ZoneInfo(zone_name)

    def offset(t: int) -> timedelta | None:
        return datetime.fromtimestamp(t, zone).utcoffset()

    start = int(datetime(FIRST_YEAR, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC).timestamp())
    step, found = 6 * 3600, []
    for t in range(start, end, step):
        if offset(t) != offset(t + step):
            low, high = t, t + step
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (low, middle) if offset(middle) != offset(t) else (middle, high)
            found.append(datetime.fromtimestamp(high, UTC))
    return found


@cache
def moments(zone_name: str) -> tuple[datetime, ...]:
    """The changes, or for a zone without any (Tehran) two ordinary days a year."""
    found = changes(zone_name)
    if found:
        return tuple(found)
    return tuple(
        datetime(year, month, 1, tzinfo=UTC)
        for year in range(FIRST_YEAR, LAST_YEAR + 1)
        for month in (1, 7)
    )


def ours(cron: str, zone: str, start: datetime, end: datetime) -> list[datetime]:
    schedule = CronSchedule.parse(cron, zone)
    window = list(takewhile(lambda t: t <= end, schedule.iter_fire_times(start)))
    return window + list(islice(schedule.iter_fire_times(end), AFTERWARDS))


def cronsims(cron: str, zone: str, start: datetime, end: datetime) -> list[datetime]:
    window = list(takewhile(lambda t: t <= end, _utc(CronSim(cron, _local(start, zone)))))
    return window + list(islice(_utc(CronSim(cron, _local(end, zone))), AFTERWARDS))


def _local(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone))


def _utc(fires: CronSim) -> Iterator[datetime]:
    return (t.astimezone(UTC) for t in fires)


def by_the_rule(cron: str, zone_name: str, start: datetime, end: datetime) -> list[datetime]:
    """The fires in (start, end], by the rule applied literally to each wall-clock slot.

    cronsim given a naive datetime names the matching wall-clock slots with no time zone
    involved; turning them into instants is the rule's business, spelled out here.
    """
    zone = ZoneInfo(zone_name)
    interval = any(f.startswith("*") for f in _six_fields(cron)[:3])
    low = start.astimezone(zone).replace(tzinfo=None) - 2 * SPAN
    high = end.astimezone(zone).replace(tzinfo=None) + 2 * SPAN
    fires = set()
    for slot in takewhile(lambda s: s <= high, CronSim(cron, low)):
        readings = [slot.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)]
        real = [t for t in readings if t.astimezone(zone).replace(tzinfo=None) == slot]
        if interval:
            fires.update(real)  # every instant the clocks show it, none if they never do
        elif real:
            fires.add(min(real))  # the first pass only
        else:  # in a gap: the first instant the clocks show a later time
            fires.add(_jump_over(slot, zone))
    return sorted(t for t in fires if start < t <= end)


def _six_fields(cron: str) -> list[str]:
    fields = cron.split()
    return fields if len(fields) == 6 else ["0", *fields]


def _jump_over(slot: datetime, zone: ZoneInfo) -> datetime:
    # fold=1 reads a gap slot with the offset from after the jump: an instant before it.
    t = slot.replace(tzinfo=zone, fold=1).astimezone(UTC).replace(second=0)
    while t.astimezone(zone).replace(tzinfo=None) < slot:
        t += timedelta(seconds=1)
    return t


def accepted_by_cronsim(cron: str) -> bool:
    try:
        CronSim(cron, datetime(2025, 1, 1))
    except CronSimError:
        return False
    return True


# --- the tests ------------------------------------------------------------------------------


def test_the_generated_set_covers_every_kind_of_field() -> None:
    # Guards the comparison against passing vacuously: the generator must reach these.
    text = " ".join(EXPRESSIONS)
    for piece in ("L", "W", "#", "/", "-", ","):
        assert piece in text
    assert sum(len(cron.split()) == 6 for cron in EXPRESSIONS) >= 5
    assert sum(accepted_by_cronsim(cron) for cron in EXPRESSIONS) >= 40


@pytest.mark.parametrize("zone", ZONES)
def test_fires_as_cronsim_does_around_every_change_but_where_the_rule_differs(zone: str) -> None:
    differing: dict[str, list[datetime]] = {}
    for cron in EXPRESSIONS:
        if not accepted_by_cronsim(cron):
            continue
        for moment in moments(zone):
            start, end = moment - SPAN, moment + SPAN
            if ours(cron, zone, start, end) != cronsims(cron, zone, start, end):
                differing.setdefault(cron, []).append(moment)
    listed = {cron for cron, where in KNOWN_DIFFERENCES if where == zone}
    assert set(differing) == listed, {c: m[:2] for c, m in differing.items()}
    for cron, where in differing.items():  # there, the rule itself is the oracle
        for moment in where:
            start, end = moment - SPAN, moment + SPAN
            window = [t for t in ours(cron, zone, start, end) if t <= end]
            assert window == by_the_rule(cron, zone, start, end), (cron, moment)


@pytest.mark.parametrize("zone", ZONES)
def test_fires_by_the_rule_literally_around_every_change(zone: str) -> None:
    # A sample of expressions, also where cronsim agrees: the literal rule is a second oracle.
    for cron in EXPRESSIONS[::5] + HAND_PICKED:
        if not accepted_by_cronsim(cron):
            continue
        for moment in moments(zone):
            start, end = moment - SPAN, moment + SPAN
            window = [t for t in ours(cron, zone, start, end) if t <= end]
            assert window == by_the_rule(cron, zone, start, end), (cron, moment)


@pytest.mark.parametrize(
    "cron, zone, after, expected",
    [
        # The example: cronsim skips the second 01:30 (15:00Z) on Lord Howe.
        ("30 * * * *", LORD_HOWE, "2017-04-01T14:00", ["14:30", "15:00", "16:00"]),
        # A 6-field fixed time fires in the first pass only (cronsim: both), and once
        # after a gap that holds it (cronsim: not that day).
        ("0 30 1 * * *", NEW_YORK, "2026-11-01T05:00", ["05:30", "2026-11-02T06:30"]),
        ("0 0 2 * * *", NEW_YORK, "2026-03-08T05:00", ["07:00", "2026-03-09T06:00"]),
        # Lord Howe's spring gap is 02:00-02:30 +10:30: cronsim misses 02:30 +11 (15:30Z).
        ("30 * * * *", LORD_HOWE, "2026-10-03T14:00", ["15:00", "15:30", "16:30"]),
        # Santiago's gap is 00:00-01:00 on 2026-09-06: 01:00 -03 is 04:00Z.
        ("*/30 1-3 * * 0#1", SANTIAGO, "2026-09-06T03:00", ["04:00", "04:30", "05:00"]),
    ],
)
def test_known_differences_by_hand(cron: str, zone: str, after: str, expected: list[str]) -> None:
    start = datetime.fromisoformat(after).replace(tzinfo=UTC)
    wanted = [
        datetime.fromisoformat(t if "T" in t else after[:11] + t).replace(tzinfo=UTC)
        for t in expected
    ]
    assert CronSchedule.parse(cron, zone).fire_times(start, len(wanted)) == wanted
    assert list(islice(_utc(CronSim(cron, _local(start, zone))), len(wanted))) != wanted
