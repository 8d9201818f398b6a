"""Finding the wall-clock times a parsed cron expression names, with no time zone involved.

`domain.schedule` maps these naive wall times to instants; keeping the calendar search
here lets each half be tested on its own. Our own matcher rather than croniter's, because
croniter 7 lacks 5L, LW, L-n, W in lists and # mixed with plain days, and because
re-expanding its expression per call is too slow for 100,000 jobs.
"""

from __future__ import annotations

import calendar
from bisect import bisect_left
from datetime import MAXYEAR

from domain.cron_fields import CronFields

# A wall-clock time to the second: year, month, day, hour, minute, second. Plain tuples,
# not naive datetimes, because datetime.replace() and arithmetic dominated the cost.
Wall = tuple[int, int, int, int, int, int]

_CACHE_LIMIT = 512  # months remembered per expression; a year of months many times over


class CronMatcher:
    """Answers "what is the next matching wall-clock second after this one?" quickly.

    Shared between every schedule with the same expression, so it must not change after
    construction apart from its month cache (whose entries never go stale).
    """

    __slots__ = ("_fields", "_hours", "_minutes", "_seconds", "_earliest", "_months", "_cache")

    def __init__(self, fields: CronFields) -> None:
        self._fields = fields
        self._hours = fields.hours
        self._minutes = fields.minutes
        self._seconds = fields.seconds
        self._earliest = (fields.hours[0], fields.minutes[0], fields.seconds[0])
        self._months = fields.months
        self._cache: dict[int, tuple[int, ...]] = {}

    @property
    def fields(self) -> CronFields:
        return self._fields

    def next_after(self, wall: Wall) -> Wall | None:
        """The first matching wall time strictly after `wall`; None past the year 9999.

        Slots are whole seconds, so a reading with a fraction of a second may be passed
        truncated: the first slot after 12:00:00.5 is the first one after 12:00:00.
        """
        year, month, day, hour, minute, second = wall
        # Second 60 is fine here: _time_from() then moves on to the next minute.
        clock = (hour, minute, second + 1)
        while year <= MAXYEAR:
            if month in self._months:
                days = self.days_in(year, month)
                i = bisect_left(days, day)
                if i < len(days) and days[i] == day:
                    time = self._time_from(clock)
                    if time is not None:
                        return (year, month, day, *time)
                    i += 1
                if i < len(days):
                    return (year, month, days[i], *self._earliest)
            month += 1
            if month == 13:
                month, year = 1, year + 1
            day = 1
            clock = (0, 0, 0)
        return None

    def _time_from(self, clock: tuple[int, int, int]) -> tuple[int, int, int] | None:
        """The first matching (hour, minute, second) at or after `clock` on the same day."""
        hour, minute, second = clock
        hours, minutes, seconds = self._hours, self._minutes, self._seconds
        i = bisect_left(hours, hour)
        if i == len(hours):
            return None
        if hours[i] > hour:
            return hours[i], minutes[0], seconds[0]
        j = bisect_left(minutes, minute)
        if j < len(minutes):
            if minutes[j] > minute:
                return hour, minutes[j], seconds[0]
            k = bisect_left(seconds, second)
            if k < len(seconds):
                return hour, minute, seconds[k]
            if j + 1 < len(minutes):
                return hour, minutes[j + 1], seconds[0]
        if i + 1 < len(hours):
            return hours[i + 1], minutes[0], seconds[0]
        return None

    def days_in(self, year: int, month: int) -> tuple[int, ...]:
        """The matching days of one month, ascending (cached: this is the costly part)."""
        key = year * 12 + month
        days = self._cache.get(key)
        if days is None:
            days = _matching_days(self._fields, year, month)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()  # crude, but bounded, and refilling is cheap
            self._cache[key] = days
        return days


def _matching_days(fields: CronFields, year: int, month: int) -> tuple[int, ...]:
    monday_based, length = calendar.monthrange(year, month)
    first = (monday_based + 1) % 7  # cron counts from Sunday = 0
    if fields.any_day_of_month and fields.any_day_of_week:
        return tuple(range(1, length + 1))
    by_month: set[int] = set()
    if not fields.any_day_of_month:
        by_month.update(day for day in fields.days if day <= length)
        by_month.update(length - n for n in fields.last_day_offsets if n < length)
        by_month.update(
            nearest_weekday(day, first, length) for day in fields.nearest_weekdays if day <= length
        )
        if fields.last_weekday:
            by_month.add(nearest_weekday(length, first, length))
    by_week: set[int] = set()
    if not fields.any_day_of_week:
        by_week.update(d for d in range(1, length + 1) if (first + d - 1) % 7 in fields.weekdays)
        for weekday, occurrence in fields.nth_weekdays:
            day = 1 + (weekday - first) % 7 + 7 * (occurrence - 1)
            if day <= length:
                by_week.add(day)
        for weekday in fields.last_weekdays:
            day = 1 + (weekday - first) % 7
            by_week.add(day + 7 * ((length - day) // 7))
    if fields.any_day_of_week:
        return tuple(sorted(by_month))
    if fields.any_day_of_month:
        return tuple(sorted(by_week))
    return tuple(sorted(by_month | by_week))  # both restricted: either one matching will do


def nearest_weekday(day: int, first: int, length: int) -> int:
    """The Monday-to-Friday day nearest `day`, never leaving the month (Quartz's W rule).

    `first` is the weekday of the 1st (Sunday = 0) and `length` the month's length.
    """
    weekday = (first + day - 1) % 7
    if weekday == 6:  # Saturday: the Friday before, unless that is last month
        return day - 1 if day > 1 else day + 2
    if weekday == 0:  # Sunday: the Monday after, unless that is next month
        return day + 1 if day < length else day - 2
    return day
