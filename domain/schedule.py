"""When a job runs: the `CronSchedule` value object, and the daylight-saving rule it owns.

A cron expression names WALL-CLOCK slots: local dates and times to the second, such as
"2026-03-29 01:30:00" in Europe/London. Turning slots into instants is a domain rule,
not something left to a library. It is Vixie cron's and Hangfire Cronos's, because that
is what cron users expect:

* An expression is INTERVAL-BASED when its seconds, minutes or hours field starts with
  ``*`` (``*/n`` included); otherwise it is FIXED. (A 5-field expression's seconds are 0.)
* Interval-based: every instant at which the zone's clocks show a matching slot fires.
  When clocks go back, the repeated stretch fires in both passes: Europe/London on
  2026-10-25, ``0 * * * *`` fires at 00:00Z (01:00 BST) and 01:00Z (01:00 GMT), so no
  two real hours pass without a run. When clocks go forward, slots in the gap do not
  exist and are not moved: ``*/30 * * * *`` in New York on 2026-03-08 fires at 06:30Z,
  07:00Z, 07:30Z.
* Fixed: each matching slot fires exactly once, at the first instant at which the
  clocks show that slot or a later time. A repeated slot fires in the first pass only
  (``30 1 * * *`` at 00:30Z on 2026-10-25 in London); a slot in a gap fires at the
  first instant after it (``0 2 * * *`` in New York on 2026-03-08 at 07:00Z, 03:00 EDT),
  and several slots in one gap share that one firing.
* Either way fire instants strictly increase and never repeat.

Results are always aware datetimes in UTC. Neither croniter (which double-fires fixed
times) nor cronsim (Debian's variant of the rule, our test oracle) is used at run time.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import islice
from typing import Any

from domain.cron_describe import describe_fields
from domain.cron_fields import CRON_INPUT, normalise_cron, parse_fields
from domain.cron_match import CronMatcher, Wall
from domain.errors import FieldErrors, InvalidInput

TIMEZONE_INPUT = "schedule.timezone"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_SECOND = timedelta(seconds=1)
_ZERO = timedelta(0)
_WEEK_SECONDS = 7 * 24 * 3600
_OFFSET_LIKE = re.compile(r"(?:UTC|GMT|Z)?\s*[+-]\s*[0-9]{1,2}(?::?[0-9]{2})?", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """When a job fires: a cron expression read in an IANA time zone.

    Constructing one (directly or with `parse`) validates and normalises both parts, so
    every instance is valid, and spellings of one schedule compare equal.
    """

    cron: str
    timezone: str = "UTC"
    # Parsed once per expression and shared; the scheduler asks 100,000 of these per tick.
    _matcher: CronMatcher = field(init=False, repr=False, compare=False)
    _zone: zoneinfo.ZoneInfo = field(init=False, repr=False, compare=False)
    _interval: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Both parts are checked, so a bad expression in a bad zone is refused naming both.
        errors = FieldErrors()
        cron = errors.check(lambda: normalise_cron(self.cron)[0])
        matcher = errors.check(lambda: _matcher_for(cron)) if cron is not None else None
        zone_found = errors.check(lambda: _resolve_zone(self.timezone))
        errors.raise_any()
        assert cron is not None and matcher is not None and zone_found is not None
        name, zone = zone_found
        object.__setattr__(self, "cron", cron)
        object.__setattr__(self, "timezone", name)
        object.__setattr__(self, "_matcher", matcher)
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_interval", is_interval_based(matcher.fields.texts))

    def __reduce__(self) -> tuple[type[CronSchedule], tuple[str, str]]:
        # Pickle and copy the text only; loading re-parses into the shared matcher.
        return (CronSchedule, (self.cron, self.timezone))

    @classmethod
    def parse(cls, cron: str, timezone: str = "UTC") -> CronSchedule:
        """Validate and normalise; raise InvalidInput naming schedule.cron or .timezone."""
        return cls(cron, timezone)

    def to_dict(self) -> dict[str, str]:
        """The stored form, for events and the API: {"cron": ..., "timezone": ...}."""
        return {"cron": self.cron, "timezone": self.timezone}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CronSchedule:
        """Rebuild from `to_dict` output, validating again; a missing timezone means UTC."""
        if not isinstance(data, Mapping):
            raise InvalidInput("schedule", f"expected a mapping, got {type(data).__name__}")
        if "cron" not in data:
            raise InvalidInput(CRON_INPUT, "the cron expression is missing")
        return cls(data["cron"], data.get("timezone", "UTC"))

    def next_fire_time(self, after: datetime) -> datetime:
        """The first fire instant strictly after aware `after`, in UTC."""
        if self._interval:
            start = _whole_seconds(_checked(after))
            found = _next_interval(self._matcher, self._zone, start, _offset_at(self._zone, start))
            if found is None:
                raise ValueError(f"{self.cron!r} does not fire again before the year 10000")
            return datetime.fromtimestamp(found[0], UTC)
        wall, offset = _high_water(_checked(after), self._zone)
        slot = self._matcher.next_after(wall)
        if slot is None:
            raise ValueError(f"{self.cron!r} does not fire again before the year 10000")
        return _first_reach(slot, self._zone, offset)

    def fire_times(self, after: datetime, count: int) -> list[datetime]:
        """The next `count` fire instants strictly after `after`, ascending, in UTC."""
        if count < 0:
            raise ValueError(f"count must not be negative, got {count}")
        return list(islice(self.iter_fire_times(after), count))

    def iter_fire_times(self, after: datetime) -> Iterator[datetime]:
        """Every fire instant strictly after aware `after`, ascending, in UTC, each once."""
        return self._fire_times(_checked(after))

    def _fire_times(self, after: datetime) -> Iterator[datetime]:
        if self._interval:
            return self._interval_fire_times(after)
        return self._fixed_fire_times(after)

    def _interval_fire_times(self, after: datetime) -> Iterator[datetime]:
        second = _whole_seconds(after)
        # Each answer comes with the offset in force then, saving a lookup per step.
        found: tuple[int, timedelta] | None = (second, _offset_at(self._zone, second))
        while found is not None:
            try:
                found = _next_interval(self._matcher, self._zone, *found)
            except (OverflowError, ValueError):
                return  # past datetime's last year
            if found is not None:
                yield datetime.fromtimestamp(found[0], UTC)

    def _fixed_fire_times(self, after: datetime) -> Iterator[datetime]:
        # Walking slots, rather than calling next_fire_time again, saves a conversion per
        # step. Slots map to instants monotonically, so skipping instants already yielded
        # drops exactly the gap slots that share one instant. Tests check the two agree.
        zone, matcher, last = self._zone, self._matcher, after
        slot: Wall | None
        slot, offset = _high_water(after, zone)
        while (slot := matcher.next_after(slot)) is not None:
            instant = _first_reach(slot, zone, offset)
            if instant > last:
                yield instant
                last = instant
                offset = datetime(*slot, tzinfo=UTC) - instant  # next guess

    def describe(self) -> str:
        """A short plain-English description, e.g. "at 09:00 on Monday through Friday"."""
        return describe_fields(self._matcher.fields.texts) or f"cron: {self.cron}"


def is_interval_based(texts: tuple[str, ...]) -> bool:
    """Vixie cron's and Cronos's test: does the seconds, minutes or hours field start with *?

    `texts` are the six field texts, seconds first.
    """
    return any(text.startswith("*") for text in texts[:3])


def _next_interval(
    matcher: CronMatcher, zone: zoneinfo.ZoneInfo, start: int, offset: timedelta
) -> tuple[int, timedelta] | None:
    """The first POSIX second after `start` at which the clocks show a matching slot.

    `offset` is the zone's offset at `start`; the answer comes with the one at the result.

    Between offset changes wall time and UTC move together, so the next slot after the
    current reading, less the current offset, is the answer unless the offset changes
    before it. Then the search restarts at the change with the new offset, from the
    reading just before it: after a fall-back that reading is lower, so the repeated
    slots fire again; after a jump it is higher, so slots in the gap are passed over.
    """
    wall = _wall(datetime.fromtimestamp(start, UTC) + offset)
    while (slot := matcher.next_after(wall)) is not None:
        candidate = _whole_seconds(datetime(*slot, tzinfo=UTC) - offset)
        change = _next_change(zone, start, candidate, offset)
        if change is None:
            return candidate, offset
        start, offset = change, _offset_at(zone, change)
        wall = _wall(datetime.fromtimestamp(change - 1, UTC) + offset)
    return None


def _offset_at(zone: zoneinfo.ZoneInfo, second: int) -> timedelta:
    return datetime.fromtimestamp(second, zone).utcoffset() or _ZERO


def _next_change(zone: zoneinfo.ZoneInfo, low: int, high: int, offset: timedelta) -> int | None:
    """The first second in (low, high] whose offset is not `offset`, or None.

    Probing once a week, not just at `high`, catches a change that is undone before
    `high` (a sparse expression can span a whole summer, and then the repeated hour at
    its start would be missed). Only two changes within one week could slip through;
    daylight-saving changes come months apart.
    """
    while low < high:
        probe = min(low + _WEEK_SECONDS, high)
        if _offset_at(zone, probe) != offset:
            return _first_second(low, probe, lambda t: _offset_at(zone, t) != offset)
        low = probe
    return None


def _checked(after: datetime) -> datetime:
    if not isinstance(after, datetime) or after.utcoffset() is None:
        raise ValueError(f"after must be a timezone-aware datetime, got {after!r}")
    return after


def _high_water(after: datetime, zone: zoneinfo.ZoneInfo) -> tuple[Wall, timedelta]:
    """The latest wall-clock reading the zone's clocks have shown by `after`, to the second.

    Slots up to it have fired; slots after it have not. That is `after`'s own reading,
    except in the repeated stretch after the clocks went back, when they have already
    shown later readings, up to the moment they changed. Also returns the UTC offset
    of that reading, as a guess for `_first_reach`.
    """
    local = after.astimezone(zone)
    offset = local.utcoffset() or _ZERO
    if local.fold:
        before = local.replace(fold=0).utcoffset() or _ZERO
        if before > offset:  # fold=1 outside an ambiguous reading carries no meaning
            high = _whole_seconds(after)
            low = high - -(-(before - offset) // _ONE_SECOND)  # before the change
            change = _first_second(
                low, high, lambda t: datetime.fromtimestamp(t, zone).utcoffset() == offset
            )
            # The last reading before the change, to the second: one second before it.
            local, offset = datetime.fromtimestamp(change - 1, UTC) + before, before
    return _wall(local), offset


def _first_reach(slot: Wall, zone: zoneinfo.ZoneInfo, guess: timedelta) -> datetime:
    """The first instant at which the zone's clocks show `slot` or later, in UTC.

    `guess` is the zone's offset at a nearby instant. It is nearly always right, and
    checking it by converting back costs less than asking the zone about `slot`.
    """
    instant = datetime(*slot, 0, UTC) - guess  # positional: keywords cost
    back = instant.astimezone(zone)
    # fold=1 would be the second of two readings; fold=0 the first or only one.
    if not back.fold and slot == _wall(back):
        return instant
    return _first_reach_near_change(slot, zone)


def _first_reach_near_change(slot: Wall, zone: zoneinfo.ZoneInfo) -> datetime:
    local = datetime(*slot, tzinfo=zone)
    # fold=0 takes the offset from before a transition and fold=1 the one after, so
    # equal offsets mean an ordinary time, a drop means the clocks went back (fold=0
    # is then the first occurrence) and a rise means the clocks jumped over `slot`.
    if (local.utcoffset() or _ZERO) >= (datetime(*slot, tzinfo=zone, fold=1).utcoffset() or _ZERO):
        return local.astimezone(UTC)
    # Fire at the jump. It lies between the two readings of `slot`: as if no jump
    # (offset before, the later instant) and as if jumped already (the earlier one).
    wall = datetime(*slot)
    jump = _first_second(
        _whole_seconds(datetime(*slot, tzinfo=zone, fold=1)),
        _whole_seconds(local),
        lambda t: datetime.fromtimestamp(t, zone).replace(tzinfo=None) >= wall,
    )
    return datetime.fromtimestamp(jump, UTC)


def _wall(moment: datetime) -> Wall:
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


def _whole_seconds(instant: datetime) -> int:
    return (instant - _EPOCH) // _ONE_SECOND


def _first_second(low: int, high: int, reached: Callable[[int], bool]) -> int:
    """The first POSIX second in (low, high] where `reached` holds; it flips once there.

    Only called at a transition, and tzdata transitions fall on whole seconds.
    """
    while high - low > 1:
        middle = (low + high) // 2
        if reached(middle):
            high = middle
        else:
            low = middle
    return high


@lru_cache(maxsize=4096)
def _matcher_for(cron: str) -> CronMatcher:
    return CronMatcher(parse_fields(normalise_cron(cron)[1]))


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    # available_timezones() also lists the host's 'localtime' (whatever /etc/localtime
    # says, so not portable) and tzdata's 'Factory' placeholder; neither is a place.
    return frozenset(zoneinfo.available_timezones() - {"localtime", "Factory", "posixrules"})


def _resolve_zone(name: object) -> tuple[str, zoneinfo.ZoneInfo]:
    if not isinstance(name, str):
        raise InvalidInput(
            TIMEZONE_INPUT, f"expected an IANA time zone name as text, got {type(name).__name__}"
        )
    name = name.strip()
    if not name:
        raise InvalidInput(
            TIMEZONE_INPUT, "the time zone is empty; expected an IANA name such as 'Europe/London'"
        )
    if name not in _zone_names():
        raise InvalidInput(TIMEZONE_INPUT, _unknown_zone(name))
    return name, zoneinfo.ZoneInfo(name)


def _unknown_zone(name: str) -> str:
    if _OFFSET_LIKE.fullmatch(name):
        return (
            f"'{name}' is a fixed UTC offset, not a time zone; use an IANA name such as "
            "'Europe/Berlin', which also knows when daylight saving starts and ends"
        )
    by_case = {known.lower(): known for known in _zone_names()}
    guess = by_case.get(name.lower()) or next(
        iter(difflib.get_close_matches(name, _zone_names(), n=1, cutoff=0.8)), None
    )
    hint = f"; did you mean '{guess}'?" if guess else ""
    return f"unknown time zone '{name}'{hint}"
