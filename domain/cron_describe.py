"""Short plain-English descriptions of the common cron shapes, for people reading job lists.

Deliberately modest: shapes it does not recognise come back as None and the caller
falls back to showing the expression itself. Saying nothing is better than saying
something subtly wrong about when a job runs.
"""

from __future__ import annotations

import re

from domain.cron_fields import DAY_NAMES, MONTH_NAMES

_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_ORDINALS = ("first", "second", "third", "fourth", "fifth")
_NUMBER = re.compile(r"[0-9]+")
_STEP = re.compile(r"\*/([0-9]+)")
_ANY = ("*", "?")


def describe_fields(texts: tuple[str, ...]) -> str | None:
    """Describe six validated field texts (seconds first), or None if the shape is unusual."""
    second, minute, hour, dom, month, dow = texts
    if second != "0":
        if (minute, hour, dom, month, dow) != ("*", "*", "*", "*", "*"):
            return None
        step = 1 if second == "*" else _step(second)
        return None if step is None else _every(step, "second")
    time = _time(minute, hour)
    days = _days(dom, month, dow)
    if time is None or days is None:
        return None
    phrase, at_clock_times = time
    if days.startswith("in ") and at_clock_times:
        return f"{phrase} every day {days}"  # "at 09:00 in May" sounds like once
    if days:
        return f"{phrase} {days}"
    # "at 02:30" alone reads like a one-off; "every 15 minutes every day" reads badly.
    return f"{phrase} every day" if at_clock_times else phrase


def _time(minute: str, hour: str) -> tuple[str, bool] | None:
    """The time-of-day phrase, and whether it names clock times (as opposed to intervals)."""
    minute_step = 1 if minute == "*" else _step(minute)
    fixed_minute = int(minute) if _NUMBER.fullmatch(minute) else None
    if hour == "*":
        if minute_step is not None:
            return _every(minute_step, "minute"), False
        if fixed_minute is not None:
            return f"at minute {fixed_minute} past every hour", False
        return None
    hour_step = _step(hour)
    if hour_step is not None and fixed_minute is not None:
        every = "every hour" if hour_step == 1 else f"every {_ordinal(hour_step)} hour"
        return f"at minute {fixed_minute} past {every}", False
    hours = _numbers(hour)
    if hours and fixed_minute is not None:
        return "at " + _join([f"{h:02}:{fixed_minute:02}" for h in hours]), True
    span = re.fullmatch(r"([0-9]+)(?:-([0-9]+))?", hour)
    if span and minute_step is not None:
        first, last = int(span[1]), int(span[2] or span[1])
        return f"{_every(minute_step, 'minute')} from {first:02}:00 to {last:02}:59", False
    return None


def _days(dom: str, month: str, dow: str) -> str | None:
    """The which-days phrase; "" means every day."""
    if month != "*":
        months = _named(month, MONTH_NAMES, 1)
        if months is None:
            return None
        names = [_MONTHS[m - 1] for m in months]
        if dow in _ANY and _NUMBER.fullmatch(dom) and len(names) == 1:
            return f"on {int(dom)} {names[0]}"
        rest = _days(dom, "*", dow)
        if rest is None:
            return None
        return f"{rest} in {_join(names)}" if rest else f"in {_join(names)}"
    if dom in _ANY and dow in _ANY:
        return ""
    if dom in _ANY:
        return _weekdays(dow)
    if dow in _ANY:
        return _month_days(dom)
    return None  # both restricted means "either", which is easy to misread in prose


def _weekdays(dow: str) -> str | None:
    if match := re.fullmatch(r"(\w+)#([1-5])", dow):
        day = _named(match[1], DAY_NAMES, 0)
        if day is not None:
            return f"on the {_ORDINALS[int(match[2]) - 1]} {_DAYS[day[0] % 7]} of the month"
    if match := re.fullmatch(r"(\w+)L", dow):
        day = _named(match[1], DAY_NAMES, 0)
        if day is not None:
            return f"on the last {_DAYS[day[0] % 7]} of the month"
    if match := re.fullmatch(r"(\w+)-(\w+)", dow):
        ends = _named(f"{match[1]},{match[2]}", DAY_NAMES, 0)
        if ends is not None:
            return f"on {_DAYS[ends[0] % 7]} through {_DAYS[ends[1] % 7]}"
    days = _named(dow, DAY_NAMES, 0)
    if days is None:
        return None
    return "on " + _join([_DAYS[d % 7] for d in dict.fromkeys(d % 7 for d in days)])


def _month_days(dom: str) -> str | None:
    special = {
        "L": "on the last day of the month",
        "LW": "on the last weekday of the month",
    }
    if dom in special:
        return special[dom]
    if match := re.fullmatch(r"([0-9]+)W", dom):
        return f"on the weekday nearest day {int(match[1])} of the month"
    days = _numbers(dom)
    if not days:
        return None
    noun = "day" if len(days) == 1 else "days"
    return f"on {noun} {_join([str(d) for d in days])} of the month"


def _numbers(text: str) -> list[int] | None:
    """A plain comma list of numbers, as ints; None for anything fancier."""
    items = text.split(",")
    if not all(_NUMBER.fullmatch(item) for item in items):
        return None
    return [int(item) for item in items]


def _named(text: str, names: tuple[str, ...], base: int) -> list[int] | None:
    """A comma list of numbers or names, as numbers; None for anything fancier."""
    values = []
    for item in text.split(","):
        if _NUMBER.fullmatch(item):
            values.append(int(item))
        elif item in names:
            values.append(names.index(item) + base)
        else:
            return None
    return values


def _step(text: str) -> int | None:
    match = _STEP.fullmatch(text)
    return int(match[1]) if match else None


def _every(step: int, unit: str) -> str:
    return f"every {unit}" if step == 1 else f"every {step} {unit}s"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
