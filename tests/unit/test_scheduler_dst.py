"""Ten years of daylight-saving transitions through the scheduler's own loop, with a fake
clock: exactly one requested run per fire instant, in Europe/London, America/New_York and
Australia/Lord_Howe (whose clocks move by 30 minutes).

Fixed wall times run the whole ten years, once a local day. `*/15 * * * *` (interval-based,
so it fires in both passes of a repeated stretch) runs across every transition of the ten
years (three local days around each): a quarter-hour job over ten full years would
be a million runs, and the days without a transition teach nothing the others do not.
Counts are checked three ways: runs by id, against the domain's own fire-time list, and
against counts worked out here from the zone's offsets alone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import takewhile
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from application.app import JobLedger
from domain.run import Run, scheduled_run_id
from domain.schedule import CronSchedule
from scheduler.scheduler import Scheduler
from tests.fakes import FakeClock, in_memory_ledger

ZONES = ("Europe/London", "America/New_York", "Australia/Lord_Howe")
FIRST, LAST = date(2030, 1, 1), date(2040, 1, 1)  # ten years of local days [FIRST, LAST)


def local_midnight(day: date, zone: str) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def transitions(zone: str) -> list[tuple[date, timedelta]]:
    """(local day, offset change) of every transition in the ten years, from offsets alone."""
    tz, found = ZoneInfo(zone), []
    day = FIRST
    while day < LAST:
        before = datetime(day.year, day.month, day.day, tzinfo=tz).utcoffset()
        nxt = day + timedelta(days=1)
        after = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).utcoffset()
        if before != after:
            assert before is not None and after is not None
            found.append((day, after - before))
        day = nxt
    return found


def run_scheduler(app: JobLedger, start: datetime, end: datetime) -> Scheduler:
    """Drive a scheduler from `start` until its next fire time is at or after `end`."""
    clock = FakeClock(start)
    scheduler = Scheduler(app, clock)
    while (due := scheduler.tick()) is not None and due < end:
        clock.at = due
    return scheduler


def runs_by_job(app: JobLedger) -> dict[UUID, list[Run.Requested]]:
    found: dict[UUID, list[Run.Requested]] = {}
    for n in app.recorder.select_notifications(start=1, limit=10**8):
        event = app.mapper.to_domain_event(n)
        if isinstance(event, Run.Requested):
            found.setdefault(event.job_id, []).append(event)
    return found


def register(app: JobLedger, cron: str, zone: str) -> UUID:
    job = app.register_job(
        name=f"{cron} in {zone}",
        job_type="command",
        program={"argv": ["true"]},
        actor="dst",
        schedule={"cron": cron, "timezone": zone},
        policies={"overlap": "allow"},  # no workers here: every slot must request a run
    )
    return job.id


def check(
    job_id: UUID,
    events: list[Run.Requested],
    cron: str,
    zone: str,
    start: datetime,
    end: datetime,
    expected: int,
) -> None:
    domain = list(takewhile(lambda t: t < end, CronSchedule(cron, zone).iter_fire_times(start)))
    ids = [e.originator_id for e in events]
    assert len(set(ids)) == len(ids) == len(domain) == expected, (cron, zone, start)
    assert sorted(e.scheduled_for for e in events) == domain  # type: ignore[type-var]
    assert set(ids) == {scheduled_run_id(job_id, t) for t in domain}


@pytest.mark.parametrize("cron", ["30 1 * * *", "0 2 * * *"])
def test_a_fixed_wall_time_fires_once_on_every_local_day_for_ten_years(cron: str):
    app = in_memory_ledger()
    jobs = {zone: register(app, cron, zone) for zone in ZONES}
    start = min(local_midnight(FIRST, z) for z in ZONES)
    end = max(local_midnight(LAST, z) for z in ZONES)
    scheduler = run_scheduler(app, start, end)
    found = runs_by_job(app)
    days = (LAST - FIRST).days
    for zone, job_id in jobs.items():
        events = [
            e
            for e in found[job_id]
            if local_midnight(FIRST, zone) <= e.scheduled_for < local_midnight(LAST, zone)  # type: ignore[operator]
        ]
        check(
            job_id,
            events,
            cron,
            zone,
            local_midnight(FIRST, zone) - timedelta(seconds=1),
            local_midnight(LAST, zone),
            expected=days,
        )
        local_days = [e.scheduled_for.astimezone(ZoneInfo(zone)).date() for e in events]  # type: ignore[union-attr]
        assert len(set(local_days)) == days  # one on every local calendar day
    assert scheduler.stats.already_fired == 0


@pytest.mark.parametrize("zone", ZONES)
def test_every_quarter_hour_follows_the_wall_clock_across_ten_years_of_transitions(zone: str):
    app = in_memory_ledger()
    job_id = register(app, "*/15 * * * *", zone)
    seen = 0
    changes = transitions(zone)
    assert len(changes) == 20  # two a year
    for day, change in changes:
        start = local_midnight(day - timedelta(days=1), zone) - timedelta(seconds=1)
        end = local_midnight(day + timedelta(days=2), zone)
        run_scheduler(app, start, end)
        events = [e for e in runs_by_job(app)[job_id][seen:]]
        seen += len(events)
        # 96 slots a local day. An interval job fires in both passes of a repeated stretch
        # and not at all in a skipped one: either way the count moves by the change.
        lost = change // timedelta(minutes=15)
        check(job_id, events, "*/15 * * * *", zone, start, end, expected=3 * 96 - lost)


def test_an_hourly_job_runs_twice_in_the_repeated_hour_and_not_again_after_a_restart():
    app = in_memory_ledger()
    job_id = register(app, "0 * * * *", "Europe/London")
    # 2026-10-25: 01:00 BST is 00:00Z, and 01:00 GMT is 01:00Z, an hour later.
    first, second = datetime(2026, 10, 25, 0, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)
    start, end = datetime(2026, 10, 24, 22, 30, tzinfo=UTC), datetime(2026, 10, 25, 3, tzinfo=UTC)
    # Stop between the two passes and restart there; then a fresh scheduler replays it all.
    run_scheduler(app, start, first + timedelta(minutes=30))
    run_scheduler(app, first + timedelta(minutes=30), end)
    before_replay = len(runs_by_job(app)[job_id])
    run_scheduler(app, start, end)

    events = runs_by_job(app)[job_id]
    assert len(events) == before_replay  # the replay requested nothing new
    in_hour = [e for e in events if first <= e.scheduled_for < second + timedelta(hours=1)]  # type: ignore[operator]
    assert sorted(e.scheduled_for for e in in_hour) == [first, second]  # type: ignore[type-var]
    # 23:00Z (00:00 BST), both 01:00s, 02:00Z (02:00 GMT): no duplicate, no gap.
    check(job_id, events, "0 * * * *", "Europe/London", start, end, expected=4)

    # Run ids name the UTC instant, so one wall time read twice is two slots.
    london = ZoneInfo("Europe/London")
    one_am = [datetime(2026, 10, 25, 1, tzinfo=london, fold=fold) for fold in (0, 1)]
    assert [scheduled_run_id(job_id, t) for t in one_am] == [
        scheduled_run_id(job_id, first),
        scheduled_run_id(job_id, second),
    ]
    assert scheduled_run_id(job_id, first) != scheduled_run_id(job_id, second)
    assert {e.originator_id for e in in_hour} == {scheduled_run_id(job_id, t) for t in one_am}
