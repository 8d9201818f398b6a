"""Daylight saving: the rule in domain.schedule's docstring, walked over ten years of changes.

    An interval-based expression (seconds, minutes or hours field starting with *) fires
    at every instant at which the zone's clocks show a matching slot: twice in a repeated
    hour, never in a gap. A fixed one fires each matching slot exactly once, at the first
    instant at which the zone's clocks show that slot or a later time.

The fake clock is plain iteration: nothing sleeps and nothing reads the real time. Around
each change the schedule is compared with an oracle that watches a zone's clock minute by
minute, the rule applied literally, using its own reading of each expression.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import islice, pairwise, takewhile
from zoneinfo import ZoneInfo

import pytest

from domain.schedule import CronSchedule

LONDON, NEW_YORK, LORD_HOWE = "Europe/London", "America/New_York", "Australia/Lord_Howe"
SANTIAGO = "America/Santiago"  # changes at midnight, so the gap starts a calendar day
ZONES = [LONDON, NEW_YORK, LORD_HOWE]
FIRST_YEAR, LAST_YEAR = 2025, 2034
MINUTE, DAY = timedelta(minutes=1), timedelta(days=1)

# The oracle's reading of each expression, written independently of our parser.
SLOTS: dict[str, Callable[[int, int], bool]] = {
    "30 1 * * *": lambda hour, minute: (hour, minute) == (1, 30),
    "30 2 * * *": lambda hour, minute: (hour, minute) == (2, 30),
    "0 2 * * *": lambda hour, minute: (hour, minute) == (2, 0),
    "15 2 * * *": lambda hour, minute: (hour, minute) == (2, 15),
    "*/15 * * * *": lambda hour, minute: minute % 15 == 0,
    "*/30 1 * * *": lambda hour, minute: hour == 1 and minute % 30 == 0,
    "15 1-3 * * *": lambda hour, minute: 1 <= hour <= 3 and minute == 15,
    "0 * * * *": lambda hour, minute: minute == 0,
}
DAILY = ["30 1 * * *", "30 2 * * *", "0 2 * * *", "15 2 * * *"]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass(frozen=True)
class Change:
    """One change of a zone's UTC offset."""

    at: datetime
    before: timedelta
    after: timedelta

    @property
    def forward(self) -> bool:
        return self.after > self.before


@cache
def changes(zone_name: str) -> tuple[Change, ...]:
    """Every offset change from FIRST_YEAR to LAST_YEAR: sampled, then bisected to the second."""
    zone = ZoneInfo(zone_name)

    def offset(t: int) -> timedelta | None:
        return datetime.fromtimestamp(t, zone).utcoffset()

    start = int(utc(FIRST_YEAR, 1, 1).timestamp())
    end = int(utc(LAST_YEAR + 1, 1, 1).timestamp())
    step, found = 6 * 3600, []
    for t in range(start, end, step):
        if offset(t) != offset(t + step):
            low, high = t, t + step
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (low, middle) if offset(middle) != offset(t) else (middle, high)
            before, after = offset(low), offset(high)
            assert before is not None and after is not None
            found.append(Change(datetime.fromtimestamp(high, UTC), before, after))
    return tuple(found)


@cache
def clock_walk(
    zone_name: str, index: int
) -> tuple[datetime, list[tuple[datetime, datetime, list[datetime]]]]:
    """Watch the clock for a day either side of a change, minute by minute.

    Returns the start, and for each minute its reading and the wall-clock slots it
    reaches for the first time: the readings above the highest one shown so far, up to
    the present one. Usually one; none in a repeated hour; the whole gap at once when the
    clocks jump forward.
    """
    zone = ZoneInfo(zone_name)
    change = changes(zone_name)[index]
    start = change.at - DAY
    highest = start.astimezone(zone).replace(tzinfo=None)
    steps = []
    for n in range(1, 2 * 24 * 60 + 1):
        t = start + n * MINUTE
        reading = t.astimezone(zone).replace(tzinfo=None)
        reached = []
        while highest < reading:
            highest += MINUTE
            reached.append(highest)
        steps.append((t, reading, reached))
    return start, steps


def fires_until(schedule: CronSchedule, start: datetime, end: datetime) -> list[datetime]:
    """The schedule's fires after `start` up to and including `end`."""
    return list(takewhile(lambda t: t <= end, schedule.iter_fire_times(start)))


def oracle(cron: str, zone_name: str, index: int) -> tuple[datetime, list[datetime]]:
    """The start of a window round change `index`, and its fire instants by the rule."""
    matches = SLOTS[cron]
    start, steps = clock_walk(zone_name, index)
    if any(field.startswith("*") for field in cron.split()[:2]):  # interval-based
        return start, [t for t, reading, _ in steps if matches(reading.hour, reading.minute)]
    fires = [t for t, _, reached in steps if any(matches(s.hour, s.minute) for s in reached)]
    return start, fires


# --- the changes themselves ------------------------------------------------------------------


@pytest.mark.parametrize(
    "zone, spring, autumn, before, after",
    [
        (LONDON, utc(2026, 3, 29, 1), utc(2026, 10, 25, 1), 0, 60),
        (NEW_YORK, utc(2026, 3, 8, 7), utc(2026, 11, 1, 6), -300, -240),
        (LORD_HOWE, utc(2026, 10, 3, 15, 30), utc(2026, 4, 4, 15), 630, 660),
    ],
)
def test_the_walk_finds_two_changes_a_year_including_known_ones(
    zone: str, spring: datetime, autumn: datetime, before: int, after: int
) -> None:
    found = {change.at: change for change in changes(zone)}
    assert len(found) == 2 * (LAST_YEAR - FIRST_YEAR + 1)
    assert found[spring] == Change(spring, timedelta(minutes=before), timedelta(minutes=after))
    assert found[autumn] == Change(autumn, timedelta(minutes=after), timedelta(minutes=before))


# --- hand-checked instants -------------------------------------------------------------------


def at(iso: str) -> datetime:
    """A UTC instant from ISO text, to keep hand-checked tables readable."""
    return datetime.fromisoformat(iso).replace(tzinfo=UTC)


# Instants in UTC. Local readings are in the comments.
HAND_CHECKED = [
    # London springs forward at 01:00 UTC: 01:00-02:00 local does not exist.
    (LONDON, "30 1 * * *", "2026-03-28T12:00", ["2026-03-29T01:00", "2026-03-30T00:30"]),
    (LONDON, "30 2 * * *", "2026-03-28T12:00", ["2026-03-29T01:30"]),
    (LONDON, "0 2 * * *", "2026-03-28T12:00", ["2026-03-29T01:00", "2026-03-30T01:00"]),
    # 00:45 GMT; 01:00 to 01:45 local do not exist and are not moved; 02:00, 02:15 BST.
    (LONDON, "*/15 * * * *", "2026-03-29T00:30", ["00:45", "01:00", "01:15"]),
    # An interval job whose only hour is the gap does not run that day.
    (LONDON, "*/30 1 * * *", "2026-03-28T12:00", ["2026-03-30T00:00"]),
    # London falls back at 01:00 UTC: 01:00-02:00 local happens twice.
    (LONDON, "30 1 * * *", "2026-10-24T12:00", ["2026-10-25T00:30", "2026-10-26T01:30"]),
    # Interval-based: 01:00 BST, 01:00 GMT, 02:00 GMT; no two real hours without a run.
    (
        LONDON,
        "0 * * * *",
        "2026-10-24T23:59",
        ["2026-10-25T00:00", "2026-10-25T01:00", "2026-10-25T02:00"],
    ),
    # 01:45 BST, then the repeated hour again: 01:00 and 01:15 GMT.
    (LONDON, "*/15 * * * *", "2026-10-25T00:30", ["00:45", "01:00", "01:15"]),
    (
        LONDON,
        "*/30 1 * * *",
        "2026-10-24T23:59:59",
        ["2026-10-25T00:00", "2026-10-25T00:30", "2026-10-25T01:00", "2026-10-25T01:30"],
    ),
    # Fixed: the first pass only.
    (LONDON, "15 1-3 * * *", "2026-10-25T00:00", ["00:15", "02:15", "03:15"]),
    # Seconds: gap slots do not exist; a repeated hour's slots fire in both passes.
    (LONDON, "*/20 * * * * *", "2026-03-29T00:59:30", ["00:59:40", "01:00:00", "01:00:20"]),
    (LONDON, "*/20 * * * * *", "2026-10-25T00:59:30", ["00:59:40", "01:00:00", "01:00:20"]),
    # New York changes at 02:00 local: 02:00-03:00 is skipped, 01:00-02:00 repeated.
    (NEW_YORK, "30 2 * * *", "2026-03-07T12:00", ["2026-03-08T07:00", "2026-03-09T06:30"]),
    (NEW_YORK, "0 2 * * *", "2026-03-07T12:00", ["2026-03-08T07:00", "2026-03-09T06:00"]),
    (NEW_YORK, "*/30 * * * *", "2026-03-08T06:00", ["06:30", "07:00", "07:30"]),
    (NEW_YORK, "30 1 * * *", "2026-10-31T12:00", ["2026-11-01T05:30", "2026-11-02T06:30"]),
    # Lord Howe moves by half an hour at 02:00 local: in October 02:00-02:30 is skipped,
    # so 02:00 and 02:15 both fire at the jump (02:30 +11); in April 01:30-02:00 repeats.
    (LORD_HOWE, "0 2 * * *", "2026-10-03T00:00", ["2026-10-03T15:30", "2026-10-04T15:00"]),
    (LORD_HOWE, "15 2 * * *", "2026-10-03T00:00", ["2026-10-03T15:30", "2026-10-04T15:15"]),
    (LORD_HOWE, "0 2 * * *", "2026-04-04T00:00", ["2026-04-04T15:30", "2026-04-05T15:30"]),
    (LORD_HOWE, "45 1 * * *", "2026-04-04T00:00", ["2026-04-04T14:45", "2026-04-05T15:15"]),
    # Interval-based: 01:30 +11, then 01:30 again at +10:30, then 02:30 (local 2017-04-02).
    (LORD_HOWE, "30 * * * *", "2017-04-01T14:00", ["14:30", "15:00", "16:00"]),
    # Dublin's tzdata entry has "negative" summer time; on the wall clock it is London.
    ("Europe/Dublin", "30 1 * * *", "2026-03-28T12:00", ["2026-03-29T01:00"]),
    ("Europe/Dublin", "30 1 * * *", "2026-10-24T12:00", ["2026-10-25T00:30", "2026-10-26T01:30"]),
]


@pytest.mark.parametrize("zone, cron, after, expected", HAND_CHECKED)
def test_fires_at_hand_checked_instants_around_changes(
    zone: str, cron: str, after: str, expected: list[str]
) -> None:
    # A bare time means the same day as `after`.
    day = after[:11]
    wanted = [at(text if "T" in text else day + text) for text in expected]
    assert CronSchedule.parse(cron, zone).fire_times(at(after), len(wanted)) == wanted


@pytest.mark.parametrize(
    "cron, after, expected",
    [
        # 01:10 GMT, in the repeated hour: an interval job fires its second pass, while a
        # fixed one already fired in the first.
        ("*/15 * * * *", utc(2026, 10, 25, 1, 10), utc(2026, 10, 25, 1, 15)),
        ("30 1 * * *", utc(2026, 10, 25, 1, 10), utc(2026, 10, 26, 1, 30)),
        ("*/15 * * * *", utc(2026, 10, 25, 1), utc(2026, 10, 25, 1, 15)),  # the very change
        ("*/15 * * * *", utc(2026, 10, 25, 0, 59, 59, 999999), utc(2026, 10, 25, 1)),
        ("*/15 * * * *", utc(2026, 10, 25, 0, 50), utc(2026, 10, 25, 1)),  # 01:50 BST
        # Inside a gap's one instant: the slots the jump covered have all fired.
        ("*/15 * * * *", utc(2026, 3, 29, 1), utc(2026, 3, 29, 1, 15)),
    ],
)
def test_next_fire_time_from_inside_a_change(
    cron: str, after: datetime, expected: datetime
) -> None:
    assert CronSchedule.parse(cron, LONDON).next_fire_time(after) == expected


# --- ten years of daily jobs -----------------------------------------------------------------


def daily_cases() -> list[tuple[str, str]]:
    cases = [(zone, cron) for zone in ZONES for cron in DAILY]
    return cases + [(SANTIAGO, "0 0 * * *"), (SANTIAGO, "30 0 * * *"), (SANTIAGO, "30 23 * * *")]


@pytest.mark.parametrize("zone_name, cron", daily_cases())
def test_a_daily_job_fires_once_on_every_local_day_for_ten_years(zone_name: str, cron: str) -> None:
    zone = ZoneInfo(zone_name)
    minute, hour = (int(part) for part in cron.split()[:2])
    start = datetime(FIRST_YEAR, 1, 1, tzinfo=zone) - timedelta(seconds=1)
    end = datetime(LAST_YEAR + 1, 1, 1, tzinfo=zone)
    fires = list(
        takewhile(lambda t: t < end, CronSchedule.parse(cron, zone_name).iter_fire_times(start))
    )

    assert all(earlier < later for earlier, later in pairwise(fires))
    days = [t.astimezone(zone).date() for t in fires]
    first, stop = date(FIRST_YEAR, 1, 1), date(LAST_YEAR + 1, 1, 1)
    assert days == [first + n * DAY for n in range((stop - first).days)]

    # Each fire is at the scheduled wall time, at its first occurrence, unless the clocks
    # jumped over that time that day; then it is the instant they jumped.
    jumps = {change.at for change in changes(zone_name) if change.forward}
    moved = set()
    for fire in fires:
        local = fire.astimezone(zone)
        if (local.hour, local.minute) == (hour, minute):
            assert local.fold == 0, f"{fire} is a second occurrence"
        else:
            assert fire in jumps, f"{fire} ({local}) is neither the slot nor a jump"
            moved.add(local.date())
    skipped = {
        change.at.astimezone(zone).date()
        for change in changes(zone_name)
        if change.forward
        and (change.at + change.before).time()
        <= datetime(2000, 1, 1, hour, minute).time()
        < (change.at + change.after).time()
    }
    assert moved == skipped


def test_the_ten_year_walk_does_meet_skipped_and_repeated_slots() -> None:
    # Guards the test above against passing vacuously.
    zone = ZoneInfo(LONDON)
    fires = CronSchedule.parse("30 1 * * *", LONDON).fire_times(utc(FIRST_YEAR, 1, 1), 3652)
    locals_ = [t.astimezone(zone) for t in fires]
    assert sum(t.time().isoformat() == "02:00:00" for t in locals_) == 10  # jumped over
    assert sum(bool(t.replace(fold=1).utcoffset() != t.utcoffset()) for t in locals_) == 10  # twice


# --- every change, compared with the clock-watching oracle ---------------------------------


@pytest.mark.parametrize("cron", list(SLOTS))
@pytest.mark.parametrize("zone", ZONES)
def test_fires_by_the_rule_around_every_change(zone: str, cron: str) -> None:
    schedule = CronSchedule.parse(cron, zone)
    for index in range(len(changes(zone))):
        start, expected = oracle(cron, zone, index)
        fires = fires_until(schedule, start, start + 2 * DAY)
        assert fires == expected, f"around {changes(zone)[index]}"
        assert len(set(fires)) == len(fires)
        assert all(earlier < later for earlier, later in pairwise(fires))


@pytest.mark.parametrize("cron", list(SLOTS))
@pytest.mark.parametrize("zone", ZONES)
def test_next_fire_time_from_any_moment_near_a_change_is_the_next_by_the_rule(
    zone: str, cron: str
) -> None:
    schedule = CronSchedule.parse(cron, zone)
    for index, change in enumerate(changes(zone)):
        start, expected = oracle(cron, zone, index)
        # Every 7 minutes and a bit, for three hours either side: lands on slots, between
        # them, in gaps' instants and in both passes of repeated hours.
        for n in range(-26, 27):
            after = change.at + n * timedelta(minutes=7, seconds=1, microseconds=n % 3)
            fire = schedule.next_fire_time(after)
            later = expected[bisect.bisect_right(expected, after) :]
            if later:
                assert fire == later[0], f"after {after}"
            else:  # a daily job's next fire can lie beyond the oracle's window
                assert fire > start + 2 * DAY, f"after {after}"


@pytest.mark.parametrize("zone", ZONES)
def test_iterating_agrees_with_repeated_next_fire_time_across_changes(zone: str) -> None:
    schedule = CronSchedule.parse("*/15 * * * *", zone)
    for change in changes(zone):
        start = change.at - 3 * timedelta(hours=1)
        chained, at = [], start
        for _ in range(30):
            at = schedule.next_fire_time(at)
            chained.append(at)
        assert list(islice(schedule.iter_fire_times(start), 30)) == chained
