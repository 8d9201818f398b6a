"""CronSchedule: parsing, validation messages, the cron forms it accepts, and firing in UTC.

Daylight-saving behaviour lives in test_schedule_dst.py.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import islice

import pytest
from croniter import croniter

from domain.errors import InvalidInput
from domain.schedule import CronSchedule


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fire_dates(cron: str, after: datetime, count: int) -> list[date]:
    return [t.date() for t in CronSchedule.parse(cron).fire_times(after, count)]


def rejection(cron: str, timezone: str = "UTC") -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        CronSchedule.parse(cron, timezone)
    return caught.value


# --- parsing and normalising -------------------------------------------------------------


def test_normalises_surrounding_and_repeated_whitespace_and_letter_case() -> None:
    schedule = CronSchedule.parse("  0   9\t* *  mon-fri ", " Europe/London ")
    assert schedule.cron == "0 9 * * MON-FRI"
    assert schedule.timezone == "Europe/London"


def test_normalises_macros_to_lower_case() -> None:
    assert CronSchedule.parse("@Daily").cron == "@daily"


def test_spellings_of_one_schedule_are_equal_and_hash_alike() -> None:
    one, other = CronSchedule.parse("0 2 * * *"), CronSchedule("0  2 * * * ", "UTC")
    assert one == other
    assert hash(one) == hash(other)
    assert one != CronSchedule.parse("0 2 * * *", "Europe/London")


def test_timezone_defaults_to_utc() -> None:
    assert CronSchedule.parse("0 2 * * *").timezone == "UTC"


def test_is_immutable() -> None:
    schedule = CronSchedule.parse("0 2 * * *")
    with pytest.raises(dataclasses.FrozenInstanceError):
        schedule.cron = "0 3 * * *"  # type: ignore[misc]


def test_repr_shows_only_the_expression_and_zone() -> None:
    assert repr(CronSchedule.parse("0 2 * * *", "Europe/Paris")) == (
        "CronSchedule(cron='0 2 * * *', timezone='Europe/Paris')"
    )


def test_survives_pickling_and_copying() -> None:
    schedule = CronSchedule.parse("*/15 * * * *", "Europe/London")
    after = utc(2026, 10, 25, 1, 10)
    for copied in (pickle.loads(pickle.dumps(schedule)), copy.deepcopy(schedule)):
        assert copied == schedule
        assert copied.next_fire_time(after) == schedule.next_fire_time(after)


def test_constructing_directly_validates_too() -> None:
    with pytest.raises(InvalidInput):
        CronSchedule("61 * * * *")


@pytest.mark.parametrize(
    "cron",
    [
        "* * * * *",
        "*/15 * * * *",
        "0 9-17 * * MON-FRI",
        "0,30 8,12,18 1,15 JAN,JUL *",
        "5/20 * * * *",
        "0 0 ? * MON",
        "0 0 1 * ?",
        "0 0 L * *",
        "0 0 L-3 * *",
        "0 0 LW * *",
        "0 0 15W * *",
        "0 0 1,15W,L * *",
        "0 0 * * 5L",
        "0 0 * * FRIL",
        "0 0 * * MON#2",
        "0 0 * * 1#2,FRI",
        "0 0 * * SAT-SUN",
        "0 0 * * 7",
        "0 0 29 2 *",
        "30 0 9 * * MON-FRI",
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ],
)
def test_accepts_the_supported_forms(cron: str) -> None:
    CronSchedule.parse(cron)


# --- rejections: wrong shape ---------------------------------------------------------------


@pytest.mark.parametrize("cron, count", [("0 2 * *", 4), ("0 2 * * * * 2026", 7), ("0", 1)])
def test_rejects_a_wrong_field_count_saying_what_was_expected_and_found(
    cron: str, count: int
) -> None:
    error = rejection(cron)
    assert error.field == "schedule.cron"
    assert error.message == (
        "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds "
        f"first, got {count}"
    )


@pytest.mark.parametrize("cron", ["", "   ", "\t\n"])
def test_rejects_an_empty_expression(cron: str) -> None:
    error = rejection(cron)
    assert error.field == "schedule.cron"
    assert error.message.startswith("the cron expression is empty")


def test_rejects_an_expression_that_is_not_text() -> None:
    error = rejection(15)  # type: ignore[arg-type]
    assert (error.field, error.message) == (
        "schedule.cron",
        "expected a cron expression as text, got int",
    )


def test_rejects_an_unknown_macro_listing_the_known_ones() -> None:
    error = rejection("@reboot")
    assert error.message.startswith("unknown macro '@reboot'; expected one of @yearly,")


def test_rejects_a_macro_with_fields_after_it() -> None:
    assert rejection("@daily 5").message == "the macro @daily must stand alone"


# --- rejections: out of range --------------------------------------------------------------


def test_rejects_minute_out_of_range_naming_the_field() -> None:
    error = rejection("61 * * * *")
    assert error.field == "schedule.cron"
    assert error.message == "minute field: 61 is out of range 0-59"
    assert str(error) == "schedule.cron: minute field: 61 is out of range 0-59"


@pytest.mark.parametrize(
    "cron, message",
    [
        ("0 24 * * *", "hour field: 24 is out of range 0-23"),
        ("0 0 0 * *", "day-of-month field: 0 is out of range 1-31"),
        ("0 0 32 * *", "day-of-month field: 32 is out of range 1-31"),
        ("0 0 * 13 *", "month field: 13 is out of range 1-12"),
        ("0 0 * 0 *", "month field: 0 is out of range 1-12"),
        ("0 0 * * 8", "day-of-week field: 8 is out of range 0-7"),
        ("60 0 0 * * *", "second field: 60 is out of range 0-59"),
        ("0 1-24 * * *", "hour field: 24 is out of range 0-23"),
        ("0 0 32W * *", "day-of-month field: 32 is out of range 1-31"),
        ("0 0 * * 8#1", "day-of-week field: 8 is out of range 0-7"),
        ("0 0 * * MON#6", "day-of-week field: occurrence 6 in 'MON#6' is out of range 1-5"),
        ("0 0 * * MON#0", "day-of-week field: occurrence 0 in 'MON#0' is out of range 1-5"),
        ("0 0 L-31 * *", "day-of-month field: offset 31 in 'L-31' is out of range 0-30"),
        ("*/0 * * * *", "minute field: step 0 in '*/0' is out of range 1-60"),
        ("*/61 * * * *", "minute field: step 61 in '*/61' is out of range 1-60"),
        ("0 */25 * * *", "hour field: step 25 in '*/25' is out of range 1-24"),
    ],
)
def test_rejects_out_of_range_values_naming_field_value_and_range(cron: str, message: str) -> None:
    error = rejection(cron)
    assert (error.field, error.message) == ("schedule.cron", message)


# --- rejections: bad tokens ----------------------------------------------------------------


@pytest.mark.parametrize(
    "cron, message",
    [
        ("x * * * *", "minute field: 'X' is not a number"),
        ("0 MON * * *", "hour field: 'MON' is not a number"),
        ("0 0 * FOO *", "month field: 'FOO' is not a number or a month name such as JAN"),
        ("0 0 * * FUNDAY", "day-of-week field: 'FUNDAY' is not a number or a day name such as MON"),
        ("1.5 * * * *", "minute field: '1.5' is not a number"),
        ("\u0663 * * * *", "minute field: '\u0663' is not a number"),
        ("-5 * * * *", "minute field: '-5' is not allowed: values cannot be negative"),
        ("1- * * * *", "minute field: '1-' is not a range; expected START-END, e.g. 1-5"),
        ("1-2-3 * * * *", "minute field: '1-2-3' is not a range; expected START-END, e.g. 1-5"),
        ("1,,2 * * * *", "minute field: a list has an empty item"),
        ("1, * * * *", "minute field: a list has an empty item"),
        ("*/x * * * *", "minute field: step 'X' in '*/X' is not a number"),
        ("0 22-2 * * *", "hour field: range 22-2 runs backwards; split it in two, e.g. 22-23,0-2"),
        (
            "0 0 * * FRI-MON",
            "day-of-week field: range FRI-MON runs backwards; split it in two, e.g. 22-23,0-2",
        ),  # fmt: skip
        (
            "? * * * *",
            "minute field: '?' is only allowed in the day-of-month and day-of-week fields",
        ),  # fmt: skip
        ("0 0 ?,1 * *", "day-of-month field: '?' must stand alone"),
        ("0 0 * * ?,MON", "day-of-week field: '?' must stand alone"),
        (
            "0 0 * MON#2 *",
            "month field: 'MON#2': '#' is only allowed in the day-of-week field, as in MON#2",
        ),  # fmt: skip
        ("0 L * * *", "hour field: 'L' is only allowed in the day-of-month field"),
        ("0 0 * 15W *", "month field: '15W' is only allowed in the day-of-month field"),
        ("0 0 5L * *", "day-of-month field: '5L': L must be written L, L-3 or LW"),
        ("0 0 * 5L *", "month field: '5L' is only allowed in the day-of-week field"),
        ("0 0 1-5W * *", "day-of-month field: '1-5W': W must follow a single day, as in 15W or LW"),
        ("0 0 * * L", "day-of-week field: 'L' needs a day before it, e.g. 5L for the last Friday"),
        ("0 0 * * MON#", "day-of-week field: 'MON#' is not understood; write DAY#N, e.g. MON#2"),
    ],
)
def test_rejects_bad_tokens_saying_what_is_wrong(cron: str, message: str) -> None:
    error = rejection(cron)
    assert (error.field, error.message) == ("schedule.cron", message)


@pytest.mark.parametrize(
    "cron, message",
    [
        ("0 0 30 2 *", "never fires: day-of-month 30 does not occur in FEB"),
        ("0 0 31 4,6,9,11 *", "never fires: day-of-month 31 does not occur in APR,JUN,SEP,NOV"),
        ("0 0 30W FEB *", "never fires: day-of-month 30W does not occur in FEB"),
    ],
)
def test_rejects_an_expression_that_names_no_real_date(cron: str, message: str) -> None:
    assert rejection(cron).message == message


def test_accepts_february_29th_which_fires_in_leap_years() -> None:
    assert fire_dates("0 0 29 2 *", utc(2026, 1, 1), 2) == [date(2028, 2, 29), date(2032, 2, 29)]


def test_a_restricted_day_of_week_rescues_an_impossible_day_of_month() -> None:
    # Both day fields restricted means either may match, so this fires every Monday.
    assert fire_dates("0 0 30 2 MON", utc(2026, 2, 1), 1) == [date(2026, 2, 2)]


# --- time zones ----------------------------------------------------------------------------


def test_rejects_an_unknown_time_zone_naming_it() -> None:
    error = rejection("0 2 * * *", "Mars/Olympus_Mons")
    assert (error.field, error.message) == (
        "schedule.timezone",
        "unknown time zone 'Mars/Olympus_Mons'",
    )


def test_suggests_the_zone_meant_by_a_misspelt_name() -> None:
    error = rejection("0 2 * * *", "Europe/Lodnon")
    assert error.message == "unknown time zone 'Europe/Lodnon'; did you mean 'Europe/London'?"


def test_suggests_the_zone_meant_by_a_wrongly_cased_name() -> None:
    error = rejection("0 2 * * *", "europe/london")
    assert error.message == "unknown time zone 'europe/london'; did you mean 'Europe/London'?"


@pytest.mark.parametrize("name", ["", "   "])
def test_rejects_an_empty_time_zone(name: str) -> None:
    error = rejection("0 2 * * *", name)
    assert error.field == "schedule.timezone"
    assert error.message.startswith("the time zone is empty")


@pytest.mark.parametrize("name", ["+02:00", "-0500", "UTC+2", "GMT-03:30", "+5"])
def test_rejects_a_fixed_utc_offset_explaining_why(name: str) -> None:
    error = rejection("0 2 * * *", name)
    assert error.field == "schedule.timezone"
    assert error.message.startswith(f"'{name}' is a fixed UTC offset, not a time zone")


@pytest.mark.parametrize("name", ["localtime", "Factory", "../etc/passwd", "/etc/localtime"])
def test_rejects_names_that_are_not_places(name: str) -> None:
    assert rejection("0 2 * * *", name).field == "schedule.timezone"


def test_rejects_a_time_zone_that_is_not_text() -> None:
    error = rejection("0 2 * * *", None)  # type: ignore[arg-type]
    assert error.message == "expected an IANA time zone name as text, got NoneType"


@pytest.mark.parametrize(
    "name", ["UTC", "Etc/GMT-2", "America/Argentina/Buenos_Aires", "Asia/Kolkata"]
)
def test_accepts_iana_names(name: str) -> None:
    assert CronSchedule.parse("0 2 * * *", name).timezone == name


def test_reports_the_expression_first_when_both_parts_are_wrong() -> None:
    assert rejection("61 * * * *", "Nowhere").field == "schedule.cron"


# --- to_dict / from_dict -------------------------------------------------------------------


def test_round_trips_through_a_dict() -> None:
    schedule = CronSchedule.parse("*/5 9-17 * * MON-FRI", "America/New_York")
    assert schedule.to_dict() == {"cron": "*/5 9-17 * * MON-FRI", "timezone": "America/New_York"}
    assert CronSchedule.from_dict(schedule.to_dict()) == schedule


def test_from_dict_validates_again() -> None:
    with pytest.raises(InvalidInput) as caught:
        CronSchedule.from_dict({"cron": "0 2 * * *", "timezone": "Nowhere/Special"})
    assert caught.value.field == "schedule.timezone"


def test_from_dict_without_a_time_zone_means_utc() -> None:
    assert CronSchedule.from_dict({"cron": "0 2 * * *"}).timezone == "UTC"


def test_from_dict_without_an_expression_names_the_missing_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        CronSchedule.from_dict({"timezone": "UTC"})
    assert (caught.value.field, caught.value.message) == (
        "schedule.cron",
        "the cron expression is missing",
    )


def test_from_dict_refuses_something_that_is_not_a_mapping() -> None:
    with pytest.raises(InvalidInput) as caught:
        CronSchedule.from_dict(["0 2 * * *"])  # type: ignore[arg-type]
    assert caught.value.field == "schedule"


# --- firing: the basics --------------------------------------------------------------------


def test_next_fire_time_is_strictly_after_even_when_after_is_a_fire_time() -> None:
    schedule = CronSchedule.parse("*/15 * * * *")
    assert schedule.next_fire_time(utc(2026, 5, 1, 12, 15)) == utc(2026, 5, 1, 12, 30)
    assert schedule.next_fire_time(utc(2026, 5, 1, 12, 14, 59, 999999)) == utc(2026, 5, 1, 12, 15)


def test_results_are_aware_utc_datetimes_whatever_the_zone_of_after() -> None:
    schedule = CronSchedule.parse("30 2 * * *", "Asia/Kolkata")
    after = datetime(2026, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=-7)))
    fire = schedule.next_fire_time(after)
    assert fire.tzinfo is UTC
    assert fire == utc(2026, 5, 1, 21, 0)  # 02:30 IST on 2 May
    assert fire == schedule.next_fire_time(after.astimezone(UTC))


def test_refuses_a_naive_after() -> None:
    schedule = CronSchedule.parse("0 2 * * *")
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule.next_fire_time(datetime(2026, 5, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule.iter_fire_times(datetime(2026, 5, 1))  # refused at once, not on first next()


def test_fire_times_returns_the_next_count_instants_in_order() -> None:
    fires = CronSchedule.parse("0 */6 * * *").fire_times(utc(2026, 5, 1, 1), 4)
    assert fires == [utc(2026, 5, 1, 6), utc(2026, 5, 1, 12), utc(2026, 5, 1, 18), utc(2026, 5, 2)]


def test_fire_times_of_zero_is_empty_and_negative_is_refused() -> None:
    schedule = CronSchedule.parse("0 2 * * *")
    assert schedule.fire_times(utc(2026, 1, 1), 0) == []
    with pytest.raises(ValueError):
        schedule.fire_times(utc(2026, 1, 1), -1)


def test_iter_fire_times_agrees_with_repeated_next_fire_time() -> None:
    schedule = CronSchedule.parse("*/7 3-5 * * MON,THU", "Europe/Berlin")
    walked, at = [], utc(2026, 1, 1)
    for _ in range(200):
        at = schedule.next_fire_time(at)
        walked.append(at)
    assert list(islice(schedule.iter_fire_times(utc(2026, 1, 1)), 200)) == walked


def test_stops_at_the_end_of_the_calendar() -> None:
    schedule = CronSchedule.parse("0 0 1 1 *")
    assert schedule.fire_times(utc(9998, 6, 1), 5) == [utc(9999, 1, 1)]
    with pytest.raises(ValueError, match="before the year 10000"):
        schedule.next_fire_time(utc(9999, 6, 1))


# --- macros and the six-field form ---------------------------------------------------------


@pytest.mark.parametrize(
    "macro, expansion",
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
    ],
)
def test_macros_fire_as_their_expansions(macro: str, expansion: str) -> None:
    after = utc(2026, 3, 5, 7, 30)
    assert CronSchedule.parse(macro).fire_times(after, 5) == CronSchedule.parse(
        expansion
    ).fire_times(after, 5)


def test_six_fields_put_seconds_first() -> None:
    fires = CronSchedule.parse("15 30 2 * * *").fire_times(utc(2026, 1, 1), 2)
    assert fires == [utc(2026, 1, 1, 2, 30, 15), utc(2026, 1, 2, 2, 30, 15)]


def test_six_fields_can_step_through_seconds() -> None:
    fires = CronSchedule.parse("*/20 * * * * *").fire_times(utc(2026, 1, 1, 0, 0, 0, 1), 4)
    assert fires == [
        utc(2026, 1, 1, 0, 0, 20),
        utc(2026, 1, 1, 0, 0, 40),
        utc(2026, 1, 1, 0, 1, 0),
        utc(2026, 1, 1, 0, 1, 20),
    ]


def test_five_fields_fire_on_the_minute() -> None:
    assert CronSchedule.parse("* * * * *").next_fire_time(utc(2026, 1, 1, 0, 0, 30)) == utc(
        2026, 1, 1, 0, 1
    )


# --- lists, ranges, steps and names --------------------------------------------------------


def test_start_and_step_runs_to_the_end_of_the_field() -> None:
    fires = CronSchedule.parse("5/20 * * * *").fire_times(utc(2026, 1, 1), 4)
    assert [t.minute for t in fires] == [5, 25, 45, 5]


def test_month_and_day_names_work_in_ranges_and_lists() -> None:
    fires = CronSchedule.parse("0 0 1 NOV-DEC,FEB *").fire_times(utc(2026, 1, 1), 4)
    assert [t.date() for t in fires] == [
        date(2026, 2, 1), date(2026, 11, 1), date(2026, 12, 1), date(2027, 2, 1)
    ]  # fmt: skip


def test_sunday_is_both_0_and_7_and_a_range_may_end_on_it() -> None:
    sundays = fire_dates("0 0 * * 0", utc(2026, 1, 1), 3)
    assert fire_dates("0 0 * * 7", utc(2026, 1, 1), 3) == sundays
    assert fire_dates("0 0 * * SUN", utc(2026, 1, 1), 3) == sundays
    weekends = fire_dates("0 0 * * SAT-SUN", utc(2026, 1, 1), 4)
    assert weekends == [date(2026, 1, 3), date(2026, 1, 4), date(2026, 1, 10), date(2026, 1, 11)]


def test_question_mark_means_any_day() -> None:
    after = utc(2026, 1, 1)
    assert fire_dates("0 0 ? * MON", after, 5) == fire_dates("0 0 * * MON", after, 5)
    assert fire_dates("0 0 1 * ?", after, 5) == fire_dates("0 0 1 * *", after, 5)


def test_both_day_fields_restricted_fire_when_either_matches() -> None:
    # Friday the 13th jobs are a classic trap: standard cron fires on every 13th AND
    # on every Friday.
    assert fire_dates("0 0 13 * FRI", utc(2026, 2, 1), 5) == [
        date(2026, 2, 6), date(2026, 2, 13), date(2026, 2, 20), date(2026, 2, 27),
        date(2026, 3, 6),
    ]  # fmt: skip


def test_a_step_in_the_day_of_month_is_a_restriction() -> None:
    # Only a bare * (or ?) leaves a day field unrestricted; */2 takes part in "either".
    fires = fire_dates("0 0 */10 * MON", utc(2026, 3, 1), 4)
    assert fires == [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 11), date(2026, 3, 16)]


# --- L, W and # ----------------------------------------------------------------------------


def test_l_is_the_last_day_of_each_month_including_leap_februaries() -> None:
    assert fire_dates("0 0 L * *", utc(2028, 1, 1), 3) == [
        date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31)
    ]  # fmt: skip


def test_l_minus_n_counts_back_from_the_last_day() -> None:
    assert fire_dates("0 0 L-2 * *", utc(2026, 1, 1), 3) == [
        date(2026, 1, 29), date(2026, 2, 26), date(2026, 3, 29)
    ]  # fmt: skip


def test_w_moves_a_saturday_back_and_a_sunday_forward() -> None:
    # 2026-08-15 is a Saturday, 2026-02-15 a Sunday, 2026-04-15 a Wednesday.
    assert fire_dates("0 0 15W * *", utc(2026, 2, 1), 1) == [date(2026, 2, 16)]
    assert fire_dates("0 0 15W * *", utc(2026, 4, 1), 1) == [date(2026, 4, 15)]
    assert fire_dates("0 0 15W * *", utc(2026, 8, 1), 1) == [date(2026, 8, 14)]


def test_w_never_leaves_the_month() -> None:
    # 2026-08-01 is a Saturday: not Friday 31 July but Monday 3 August.
    assert fire_dates("0 0 1W * *", utc(2026, 7, 31), 1) == [date(2026, 8, 3)]
    # 2026-05-31 is a Sunday: not Monday 1 June but Friday 29 May.
    assert fire_dates("0 0 31W * *", utc(2026, 5, 1), 1) == [date(2026, 5, 29)]


def test_w_skips_months_without_that_day() -> None:
    assert fire_dates("0 0 31W * *", utc(2026, 4, 1), 1) == [date(2026, 5, 29)]


def test_lw_is_the_last_weekday_of_the_month() -> None:
    # 2026-02-28 is a Saturday and 2026-05-31 a Sunday.
    assert fire_dates("0 0 LW 2,5 *", utc(2026, 1, 1), 2) == [date(2026, 2, 27), date(2026, 5, 29)]


def test_day_l_is_the_last_such_weekday_of_the_month() -> None:
    expected = [date(2026, 1, 30), date(2026, 2, 27), date(2026, 3, 27)]
    assert fire_dates("0 0 * * 5L", utc(2026, 1, 1), 3) == expected
    assert fire_dates("0 0 * * FRIL", utc(2026, 1, 1), 3) == expected


def test_hash_picks_the_nth_weekday_of_the_month() -> None:
    expected = [date(2026, 1, 12), date(2026, 2, 9), date(2026, 3, 9)]
    assert fire_dates("0 0 * * MON#2", utc(2026, 1, 1), 3) == expected
    assert fire_dates("0 0 * * 1#2", utc(2026, 1, 1), 3) == expected


def test_a_fifth_weekday_fires_only_in_months_that_have_one() -> None:
    # Mondays in 2026: five of them in March, June, August and November.
    fires = fire_dates("0 0 * * MON#5", utc(2026, 1, 1), 4)
    assert fires == [date(2026, 3, 30), date(2026, 6, 29), date(2026, 8, 31), date(2026, 11, 30)]


def test_specials_mix_with_plain_values_in_one_list() -> None:
    assert fire_dates("0 0 * * MON#1,FRI", utc(2026, 5, 31), 3) == [
        date(2026, 6, 1), date(2026, 6, 5), date(2026, 6, 12)
    ]  # fmt: skip
    assert fire_dates("0 0 1,15W,L * *", utc(2026, 1, 31), 4) == [
        date(2026, 2, 1), date(2026, 2, 16), date(2026, 2, 28), date(2026, 3, 1)
    ]  # fmt: skip


# --- agreement with croniter where both read an expression the same way -------------------

# croniter is the reference here only: it writes the last Friday as L5 and puts seconds
# last, and it has no LW, L-n or 5L of its own.
AGREED = [
    ("*/15 * * * *", "*/15 * * * *"),
    ("0 9 * * 1-5", "0 9 * * 1-5"),
    ("23 0-20/2 * * *", "23 0-20/2 * * *"),
    ("5 4 * * SUN", "5 4 * * sun"),
    ("0 0 1,15 * MON", "0 0 1,15 * mon"),
    ("0 0 13 * FRI", "0 0 13 * fri"),
    ("0 12 L * *", "0 12 L * *"),
    ("0 0 15W * *", "0 0 15W * *"),
    ("0 0 1W * *", "0 0 1W * *"),
    ("0 0 * * MON#2", "0 0 * * mon#2"),
    ("0 0 * * 5L", "0 0 * * L5"),
    ("30 2 29 2 *", "30 2 29 2 *"),
    ("0 0 1 JAN-MAR *", "0 0 1 jan-mar *"),
    ("0 22 * * 6-7", "0 22 * * 6-7"),
    ("15 30 2 * * *", "30 2 * * * 15"),
    ("*/20 */7 * * * *", "*/7 * * * * */20"),
]


@pytest.mark.parametrize("ours, theirs", AGREED)
@pytest.mark.parametrize("start", [datetime(2026, 1, 1), datetime(2027, 2, 27, 13, 41, 7)])
def test_agrees_with_croniter_on_wall_clock_times_in_utc(
    ours: str, theirs: str, start: datetime
) -> None:
    reference = croniter(theirs, start)
    expected = [reference.get_next(datetime).replace(tzinfo=UTC) for _ in range(150)]
    assert CronSchedule.parse(ours).fire_times(start.replace(tzinfo=UTC), 150) == expected


# --- describe ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cron, description",
    [
        ("*/15 * * * *", "every 15 minutes"),
        ("* * * * *", "every minute"),
        ("30 2 * * *", "at 02:30 every day"),
        ("0 9 * * 1-5", "at 09:00 on Monday through Friday"),
        ("0 9 * * MON-FRI", "at 09:00 on Monday through Friday"),
        ("0 */2 * * *", "at minute 0 past every 2nd hour"),
        ("0 * * * *", "at minute 0 past every hour"),
        ("@hourly", "at minute 0 past every hour"),
        ("@daily", "at 00:00 every day"),
        ("@weekly", "at 00:00 on Sunday"),
        ("@monthly", "at 00:00 on day 1 of the month"),
        ("@yearly", "at 00:00 on 1 January"),
        ("0 9,17 * * *", "at 09:00 and 17:00 every day"),
        ("0 9 * * MON,WED,FRI", "at 09:00 on Monday, Wednesday and Friday"),
        ("*/15 9-17 * * MON-FRI", "every 15 minutes from 09:00 to 17:59 on Monday through Friday"),
        ("0 0 1,15 * *", "at 00:00 on days 1 and 15 of the month"),
        ("0 0 L * *", "at 00:00 on the last day of the month"),
        ("0 0 LW * *", "at 00:00 on the last weekday of the month"),
        ("0 0 15W * *", "at 00:00 on the weekday nearest day 15 of the month"),
        ("0 0 * * MON#2", "at 00:00 on the second Monday of the month"),
        ("0 0 * * 5L", "at 00:00 on the last Friday of the month"),
        ("0 6 * JUL *", "at 06:00 every day in July"),
        ("*/10 * * * * *", "every 10 seconds"),
        ("0 30 2 * * *", "at 02:30 every day"),
    ],
)
def test_describes_common_shapes_in_plain_english(cron: str, description: str) -> None:
    assert CronSchedule.parse(cron).describe() == description


@pytest.mark.parametrize("cron", ["0 0 13 * FRI", "5 1-3/2 * * *", "30 * * * * *", "0 0 1 */3 *"])
def test_describes_unusual_shapes_by_their_expression(cron: str) -> None:
    assert CronSchedule.parse(cron).describe() == f"cron: {cron}"
