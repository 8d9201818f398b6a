"""Reading cron text: which wall-clock values each field of an expression matches.

Kept apart from `domain.schedule` so the value object stays small. Nothing here knows
about time zones; this module turns text into sets of values, or says in plain words
what is wrong with it.

Grammar (case-insensitive; stored with names and letters upper-case, macros lower-case):

* 5 fields ``minute hour day-of-month month day-of-week``, or 6 with seconds first
  (``second minute hour day-of-month month day-of-week``, as Quartz and Cronos read them),
  or one of the macros in `MACROS`.
* Every field takes ``*``, numbers, ranges ``a-b``, steps ``*/n``, ``a-b/n`` and ``a/n``
  (from ``a`` to the field's end), and comma-separated lists of those.
* Months take JAN-DEC. Days of the week take SUN-SAT or 0-7, where 0 and 7 are both
  Sunday (Unix numbering, also in the 6-field form). A range ending in Sunday, such as
  ``SAT-SUN`` or ``5-0``, means up to the end of the week; other backwards ranges are
  refused rather than guessed at.
* Day-of-month also takes ``L`` (last day), ``L-n`` (n days before it), ``nW`` (the
  weekday nearest day n, staying within the month), ``LW`` (last weekday) and ``?``.
* Day-of-week also takes ``dL`` (the last such day of the month, e.g. ``5L`` or ``FRIL``),
  ``d#n`` (the n-th such day, e.g. ``MON#2`` or ``1#2``) and ``?``.
* As in Vixie cron, when both day fields are restricted a day matches if EITHER does;
  a field is unrestricted only when it is written ``*`` or ``?``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.errors import InvalidInput

CRON_INPUT = "schedule.cron"

MACROS: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MONTH_LENGTHS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # longest each month gets

# ASCII digits only: str.isdigit() would also accept '²' and '٣'.
_NUMBER = re.compile(r"[0-9]+")
_DAY = r"(?:[0-9]+|SUN|MON|TUE|WED|THU|FRI|SAT)"
_NTH_WEEKDAY = re.compile(rf"({_DAY})#([0-9]+)")
_LAST_WEEKDAY = re.compile(rf"({_DAY})L")
_LAST_DAY_OFFSET = re.compile(r"L-([0-9]+)")
_NEAREST_WEEKDAY = re.compile(r"([0-9]+)W")


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    top: int = -1  # where '*' and 'a/n' stop; differs from `high` only for day-of-week

    @property
    def end(self) -> int:
        return self.high if self.top < 0 else self.top


SECOND = _Field("second", 0, 59)
MINUTE = _Field("minute", 0, 59)
HOUR = _Field("hour", 0, 23)
DAY_OF_MONTH = _Field("day-of-month", 1, 31)
MONTH = _Field("month", 1, 12, MONTH_NAMES)
# 7 is accepted as a second Sunday, but '*' stops at 6 so Sunday is not counted twice.
DAY_OF_WEEK = _Field("day-of-week", 0, 7, DAY_NAMES, top=6)


@dataclass(frozen=True, slots=True)
class CronFields:
    """What a valid cron expression matches, field by field, in wall-clock terms."""

    texts: tuple[str, ...]  # second, minute, hour, day-of-month, month, day-of-week
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: frozenset[int]
    days: frozenset[int]
    last_day_offsets: frozenset[int]  # L is 0, L-3 is 3
    nearest_weekdays: frozenset[int]  # 15W is 15
    last_weekday: bool  # LW
    any_day_of_month: bool
    weekdays: frozenset[int]  # 0 is Sunday
    nth_weekdays: frozenset[tuple[int, int]]  # MON#2 is (1, 2)
    last_weekdays: frozenset[int]  # 5L is 5
    any_day_of_week: bool


def normalise_cron(cron: object) -> tuple[str, tuple[str, ...]]:
    """Return the expression's stored form and its six field texts (seconds first)."""
    if not isinstance(cron, str):
        raise InvalidInput(
            CRON_INPUT, f"expected a cron expression as text, got {type(cron).__name__}"
        )
    parts = cron.split()
    if not parts:
        raise InvalidInput(
            CRON_INPUT,
            "the cron expression is empty; expected 5 fields (minute hour day-of-month month "
            "day-of-week), 6 with seconds first, or a macro such as @daily",
        )
    if parts[0].startswith("@"):
        macro = parts[0].lower()
        if macro not in MACROS:
            raise InvalidInput(
                CRON_INPUT, f"unknown macro '{parts[0]}'; expected one of {', '.join(MACROS)}"
            )
        if len(parts) > 1:
            raise InvalidInput(CRON_INPUT, f"the macro {macro} must stand alone")
        return macro, ("0", *MACROS[macro].split())
    if len(parts) not in (5, 6):
        raise InvalidInput(
            CRON_INPUT,
            "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds "
            f"first, got {len(parts)}",
        )
    parts = [part.upper() for part in parts]
    texts = tuple(parts) if len(parts) == 6 else ("0", *parts)
    return " ".join(parts), texts


def parse_fields(texts: tuple[str, ...]) -> CronFields:
    """Read six field texts (seconds first) into a `CronFields`, or raise InvalidInput."""
    second, minute, hour, dom, month, dow = texts
    fields = CronFields(
        texts,
        tuple(sorted(_numbers(second, SECOND))),
        tuple(sorted(_numbers(minute, MINUTE))),
        tuple(sorted(_numbers(hour, HOUR))),
        frozenset(_numbers(month, MONTH)),
        *_day_of_month(dom),
        *_day_of_week(dow),
    )
    _check_can_fire(fields)
    return fields


def _fail(field: _Field, message: str) -> InvalidInput:
    return InvalidInput(CRON_INPUT, f"{field.name} field: {message}")


def _numbers(text: str, field: _Field) -> set[int]:
    if "?" in text:
        raise _fail(field, _misplaced("?", field) or "'?' must stand alone")
    values: set[int] = set()
    for item in text.split(","):
        values.update(_expand(item, field))
    return values


def _expand(item: str, field: _Field) -> range:
    if not item:
        raise _fail(field, "a list has an empty item")
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not _NUMBER.fullmatch(step_text):
            raise _fail(field, f"step '{step_text}' in '{item}' is not a number")
        step, span = int(step_text), field.end - field.low + 1
        if not 1 <= step <= span:
            raise _fail(field, f"step {step} in '{item}' is out of range 1-{span}")
    if base == "*":
        return range(field.low, field.end + 1, step)
    if base.startswith("-"):
        raise _fail(field, f"'{item}' is not allowed: values cannot be negative")
    if "-" not in base:
        low = _value(base, field)
        return range(low, (field.end if slash else low) + 1, step)
    first, _, last = base.partition("-")
    if not last or "-" in last:
        raise _fail(field, f"'{base}' is not a range; expected START-END, e.g. 1-5")
    low, high = _value(first, field), _value(last, field)
    if field is DAY_OF_WEEK and high == 0 and low > 0:
        high = 7  # SAT-SUN: Sunday as the end of the week; 7 folds back to 0 below
    if low > high:
        raise _fail(field, f"range {base} runs backwards; split it in two, e.g. 22-23,0-2")
    return range(low, high + 1, step)


def _value(token: str, field: _Field) -> int:
    if _NUMBER.fullmatch(token):
        value = int(token)
        if not field.low <= value <= field.high:
            raise _fail(field, f"{value} is out of range {field.low}-{field.high}")
        return value
    if token in field.names:
        return field.names.index(token) + field.low
    if hint := _misplaced(token, field):
        raise _fail(field, hint)
    if field is MONTH:
        raise _fail(field, f"'{token}' is not a number or a month name such as JAN")
    if field is DAY_OF_WEEK:
        raise _fail(field, f"'{token}' is not a number or a day name such as MON")
    raise _fail(field, f"'{token}' is not a number")


def _misplaced(token: str, field: _Field) -> str | None:
    """Say so when a token is valid cron, just not in this field."""
    if token == "?":
        return "'?' is only allowed in the day-of-month and day-of-week fields"
    if "#" in token:
        return f"'{token}': '#' is only allowed in the day-of-week field, as in MON#2"
    if re.fullmatch(r"L(-[0-9]+)?|LW|[0-9]+W", token):
        return f"'{token}' is only allowed in the day-of-month field"
    if _LAST_WEEKDAY.fullmatch(token):
        return f"'{token}' is only allowed in the day-of-week field"
    return None


def _day_of_month(
    text: str,
) -> tuple[frozenset[int], frozenset[int], frozenset[int], bool, bool]:
    days: set[int] = set()
    offsets: set[int] = set()
    nearest: set[int] = set()
    last_weekday = False
    restricted = text not in ("*", "?")
    if restricted and "?" in text:
        raise _fail(DAY_OF_MONTH, "'?' must stand alone")
    for item in text.split(",") if restricted else ():
        if item == "L":
            offsets.add(0)
        elif item == "LW":
            last_weekday = True
        elif match := _LAST_DAY_OFFSET.fullmatch(item):
            if (offset := int(match[1])) > 30:
                raise _fail(DAY_OF_MONTH, f"offset {offset} in '{item}' is out of range 0-30")
            offsets.add(offset)
        elif match := _NEAREST_WEEKDAY.fullmatch(item):
            nearest.add(_value(match[1], DAY_OF_MONTH))
        elif "W" in item:
            raise _fail(DAY_OF_MONTH, f"'{item}': W must follow a single day, as in 15W or LW")
        elif "L" in item:
            raise _fail(DAY_OF_MONTH, f"'{item}': L must be written L, L-3 or LW")
        else:
            days.update(_expand(item, DAY_OF_MONTH))
    # In CronFields order: days, last_day_offsets, nearest_weekdays, last_weekday, any.
    return frozenset(days), frozenset(offsets), frozenset(nearest), last_weekday, not restricted


def _day_of_week(
    text: str,
) -> tuple[frozenset[int], frozenset[tuple[int, int]], frozenset[int], bool]:
    weekdays: set[int] = set()
    nth: set[tuple[int, int]] = set()
    last: set[int] = set()
    restricted = text not in ("*", "?")
    if restricted and "?" in text:
        raise _fail(DAY_OF_WEEK, "'?' must stand alone")
    for item in text.split(",") if restricted else ():
        if match := _NTH_WEEKDAY.fullmatch(item):
            occurrence = int(match[2])
            if not 1 <= occurrence <= 5:
                raise _fail(DAY_OF_WEEK, f"occurrence {occurrence} in '{item}' is out of range 1-5")
            nth.add((_value(match[1], DAY_OF_WEEK) % 7, occurrence))
        elif match := _LAST_WEEKDAY.fullmatch(item):
            last.add(_value(match[1], DAY_OF_WEEK) % 7)
        elif item == "L":
            # Quartz reads a lone L as Saturday; nobody means that, so ask for the day.
            raise _fail(DAY_OF_WEEK, "'L' needs a day before it, e.g. 5L for the last Friday")
        elif "#" in item:
            raise _fail(DAY_OF_WEEK, f"'{item}' is not understood; write DAY#N, e.g. MON#2")
        else:
            weekdays.update(value % 7 for value in _expand(item, DAY_OF_WEEK))
    # In CronFields order: weekdays, nth_weekdays, last_weekdays, any.
    return frozenset(weekdays), frozenset(nth), frozenset(last), not restricted


def _check_can_fire(fields: CronFields) -> None:
    """Refuse expressions such as '0 0 30 2 *' that name no real date."""
    # A restricted day-of-week always comes round eventually (even FEB MON#5, in the
    # leap years when February starts on a Monday), and L/LW land in every month.
    if not fields.any_day_of_week or fields.last_weekday:
        return
    if fields.any_day_of_month:
        return
    for month in fields.months:
        length = _MONTH_LENGTHS[month - 1]
        if any(day <= length for day in fields.days | fields.nearest_weekdays):
            return
        if any(offset < length for offset in fields.last_day_offsets):
            return
    months = ",".join(MONTH_NAMES[month - 1] for month in sorted(fields.months))
    raise InvalidInput(
        CRON_INPUT, f"never fires: day-of-month {fields.texts[3]} does not occur in {months}"
    )
