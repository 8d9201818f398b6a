"""The dashboard page and its live stream over fake views: what it lists, who may cancel,
the chart with its words and table, old jobs-list links, and the stream's events."""

from __future__ import annotations

import asyncio
import html
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest
from fastapi import FastAPI

from adapters.master_key import MasterKey
from engine.capabilities import summarize
from interfaces.web import dashboard, mount
from interfaces.web.dashboard import dashboard_events
from interfaces.web.dashboard_data import error_tail
from tests.fakes import FakeClock
from tests.unit.test_web_session import FakeTokens, session_csrf, sign_in

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient warns about httpx on import
    from starlette.testclient import TestClient

NOW = datetime(2026, 11, 30, 14, 20, 5, tzinfo=UTC)
JOB = UUID("00000000-0000-4000-8000-000000000001")


def run_row(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": uuid4(),
        "job_id": JOB,
        "job_name": "Nightly ETL",
        "job_type": "command",
        "status": "running",
        "attempt": 1,
        "worker": "w-1",
        "requested_at": NOW - timedelta(minutes=5),
        "scheduled_for": None,
        "started_at": NOW - timedelta(minutes=3, seconds=7),
        "finished_at": None,
        "exit_code": None,
        "error": None,
        "cancel_requested_by": None,
    }
    row.update(values)
    return row


class DashboardViews:
    """Fake runs and jobs views holding one of each thing the dashboard lists."""

    def __init__(self) -> None:
        self.running = [run_row()]
        self.failed = [
            run_row(
                status="failed",
                finished_at=NOW - timedelta(hours=2),
                exit_code=2,
                error="\n".join(f"line {n}" for n in range(1, 11)) + "\nValueError: bad row 17",
            )
        ]
        self.skipped = [
            run_row(
                status="skipped",
                job_name="Hourly sync",
                scheduled_for=NOW - timedelta(hours=1, minutes=20),
                finished_at=NOW - timedelta(hours=1, minutes=20),
                error="the previous run was still running",
            )
        ]
        self.position = 7
        self.cancelled: list[tuple[UUID, str]] = []
        self.asked_since: list[datetime] = []

    def list_runs(self, *, status: str | None = None, limit: int = 50) -> Any:
        assert status == "running"
        return list(self.running), None

    def finished_since(self, statuses: Any, since: datetime, limit: int = 20) -> Any:
        self.asked_since.append(since)
        return [dict(r) for r in (self.skipped if "skipped" in statuses else self.failed)]

    def runs_per_hour(self, since: datetime) -> list[tuple[datetime, str, int]]:
        hour = NOW.replace(minute=0, second=0)
        return [
            (hour - timedelta(hours=2), "failed", 1),
            (hour - timedelta(hours=2), "succeeded", 4),
            (hour - timedelta(days=3), "succeeded", 9),
        ]

    def schedule_counts(self) -> list[tuple[str, str, int]]:
        return [("45 * * * *", "UTC", 3), ("0 3 * * *", "UTC", 1)]

    def jobs_due(self, due: Any, limit: int = 50) -> list[dict[str, Any]]:
        self.asked_due = list(due)
        names = {"45 * * * *": "Soon", "0 3 * * *": "Later"}
        return [
            {
                "id": uuid4(),
                "name": names[cron],
                "schedule_cron": cron,
                "schedule_timezone": zone,
                "next_run": fire,
            }
            for cron, zone, fire in due
        ]

    def job_type_counts(self) -> dict[str, int]:
        return {"command": 3, "powershell": 1}

    def max_tracking_id(self, _name: str) -> int:
        return self.position


def make_app(views: DashboardViews) -> FastAPI:
    app = FastAPI()
    app.state.system = SimpleNamespace(
        master_key=MasterKey.generate(),
        jobs=views,
        runs=views,
        app=SimpleNamespace(
            record_sign_in=lambda *a, **k: None,
            cancel_run=lambda run_id, actor: views.cancelled.append((run_id, actor)),
        ),
        # No worker has recorded what it can run: every type is unrunnable.
        job_type_availability=lambda names=(): summarize(names, []),
    )
    app.state.tokens = FakeTokens()
    app.state.clock = FakeClock(NOW)
    mount(app)
    return app


@pytest.fixture
def views() -> DashboardViews:
    return DashboardViews()


@pytest.fixture(autouse=True)
def fresh_shared_board(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees a board another gathered (the streams share one per process)."""
    monkeypatch.setattr(dashboard, "SHARED", dashboard.SharedBoard())


def signed_in(app: FastAPI, token: str = "jl_admin") -> TestClient:
    c = TestClient(app, base_url="http://testserver", follow_redirects=False)
    sign_in(c, token)
    return c


def section(page: str, ident: str) -> str:
    found = re.search(rf'<section[^>]* id="{ident}">(.*?)</section>', page, re.S)
    assert found is not None, ident
    return found.group(1)


def test_the_dashboard_lists_running_failed_upcoming_missed_and_unrunnable(
    views: DashboardViews,
) -> None:
    page = signed_in(make_app(views)).get("/")
    assert page.status_code == 200
    text = page.text
    running = section(text, "running")
    assert "Nightly ETL" in running and "3 min 07 s" in running
    assert 'data-seconds="187"' in running
    assert f'action="/runs/{views.running[0]["id"]}/cancel"' in running
    assert 'name="back" value="dashboard"' in running
    failures = section(text, "failures")
    assert "ValueError: bad row 17" in failures and "exit code 2" in failures
    assert "line 6\n" in failures and "line 5\n" not in failures  # the tail only
    assert views.asked_since == [NOW - timedelta(hours=24)] * 2
    upcoming = section(text, "upcoming")
    assert "Soon" in upcoming and "2026-11-30T14:45:00+00:00" in upcoming
    assert "Later" not in upcoming  # 03:00 is not within the hour
    assert views.asked_due == [("45 * * * *", "UTC", NOW.replace(minute=45, second=0))]
    assert '<span class="count">3</span>' in upcoming  # every job on the due schedule
    missed = section(text, "missed")
    assert "Hourly sync" in missed and "the previous run was still running" in missed
    unrunnable = section(text, "unrunnable")
    assert 'href="/jobs?type=command"' in unrunnable and "3 command jobs" in unrunnable
    assert "1 powershell job</a>: no worker is running" in unrunnable


def test_a_viewer_sees_no_cancel_button(views: DashboardViews) -> None:
    page = signed_in(make_app(views), "jl_view").get("/")
    assert page.status_code == 200
    assert "/cancel" not in page.text and "Nightly ETL" in page.text


def test_the_chart_is_inline_svg_with_words_per_bar_and_a_table(views: DashboardViews) -> None:
    text = signed_in(make_app(views)).get("/").text
    day = section(text, "charts")
    assert '<svg class="bar-chart" id="svg-day"' in day and 'id="svg-week"' in day
    assert "<title>2026-11-30 12:00 UTC: 5 runs (4 succeeded, 1 failed)</title>" in day
    assert "<title>2026-11-30 13:00 UTC: 0 runs</title>" in day
    assert day.count('<g class="bar"') == 24 + 24 * 7
    day_table = re.search(r'<table class="list compact" id="table-day">(.*?)</table>', day, re.S)
    assert day_table is not None
    assert "2026-11-30 12:00" in day_table.group(1) and "2026-11-27" not in day_table.group(1)
    assert "2026-11-27 14:00" in day  # the week's table has the older hour
    # Nothing a strict CSP would refuse, and nothing fetched from elsewhere.
    assert "<script>" not in text and " style=" not in text
    assert not re.search(r'(src|href)="(https?:)?//', text)


def test_links_to_the_old_jobs_list_address_go_to_the_jobs_page(views: DashboardViews) -> None:
    answer = signed_in(make_app(views)).get("/?folder=Customers&tag=nightly")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/jobs?folder=Customers&tag=nightly"


def test_the_event_stream_needs_a_session(views: DashboardViews) -> None:
    c = TestClient(make_app(views), base_url="http://testserver", follow_redirects=False)
    assert c.get("/dashboard/events").status_code == 401


class StreamRequest:
    """What dashboard_events reads of a request; disconnects after `polls` polls."""

    def __init__(self, app: FastAPI, polls: int) -> None:
        self.app = app
        self.polls = polls

    async def is_disconnected(self) -> bool:
        self.polls -= 1
        return self.polls < 0


def test_the_stream_sends_the_live_part_again_only_when_the_views_move(
    views: DashboardViews,
) -> None:
    from domain.access import Principal

    app = make_app(views)
    request = StreamRequest(app, polls=4)
    principal = Principal("ada", "admin", "t-admin")

    async def collect() -> list[bytes]:
        sent = []
        async for chunk in dashboard_events(
            request,  # type: ignore[arg-type]
            principal,
            "csrf-1",
            lambda: True,
            poll=0,
        ):
            sent.append(chunk)
            if len(sent) == 1:  # a run starts after the first event
                views.running.append(run_row(job_name="Second job"))
                views.position += 1
        return sent

    # A thread of its own: in a full run the browser tests' Playwright (sync API) keeps an
    # event loop running in the main thread, where asyncio.run refuses to start another.
    with ThreadPoolExecutor(1) as thread:
        sent = thread.submit(asyncio.run, collect()).result()
    assert len(sent) == 2  # the first, then one for the move; none while nothing moved
    first, second = (orjson.loads(chunk.split(b"data: ", 1)[1])["html"] for chunk in sent)
    assert all(chunk.startswith(b"event: dashboard\n") for chunk in sent)
    assert "Second job" not in first and "Second job" in html.unescape(second)
    assert 'name="csrf_token" value="csrf-1"' in second


def test_an_error_tail_is_the_last_lines_clipped() -> None:
    assert error_tail(None) == ""
    assert error_tail("a\nb\nc\n") == "a\nb\nc"
    long = "\n".join(str(n) for n in range(100))
    assert error_tail(long) == "\n".join(str(n) for n in range(94, 100))
    assert error_tail("x" * 5000) == "…" + "x" * 800


def test_streams_at_one_version_share_one_read_of_the_views(views: DashboardViews) -> None:
    from domain.access import Principal

    app = make_app(views)
    request = StreamRequest(app, polls=0)
    calls: list[datetime] = []
    counted = views.runs_per_hour

    def counting(since: datetime) -> list[tuple[datetime, str, int]]:
        calls.append(since)
        return counted(since)

    views.runs_per_hour = counting  # type: ignore[method-assign]
    ada, vic = Principal("ada", "admin", "t-admin"), Principal("vic", "viewer", "t-view")
    first = dashboard._fragment(request, ada, "csrf-a", (7, 7, 1))  # type: ignore[arg-type]
    app.state.clock.advance(10)  # the same minute, the same views: the same board
    second = dashboard._fragment(request, vic, "csrf-v", (7, 7, 1))  # type: ignore[arg-type]
    assert len(calls) == 1
    assert b'data-seconds=\\"187\\"' in first and b'data-seconds=\\"197\\"' in second
    assert b"csrf-a" in first and b"/cancel" not in second  # rendered for each viewer
    dashboard._fragment(request, ada, "csrf-a", (8, 7, 1))  # type: ignore[arg-type]
    assert len(calls) == 2


def test_a_cancel_from_the_dashboard_comes_back_to_it(views: DashboardViews) -> None:
    app = make_app(views)
    c = signed_in(app)
    run_id = views.running[0]["id"]
    form = {"csrf_token": session_csrf(c, app), "back": "dashboard"}
    answer = c.post(f"/runs/{run_id}/cancel", data=form)
    assert answer.status_code == 303 and answer.headers["location"] == "/?notice=cancel-requested"
    assert views.cancelled == [(run_id, "token:ada")]
    # From the run page (no `back`), back to the run page, as before.
    answer = c.post(f"/runs/{run_id}/cancel", data={"csrf_token": form["csrf_token"]})
    assert answer.headers["location"] == f"/runs/{run_id}?notice=cancel-requested"
    assert "Cancellation requested." in c.get("/?notice=cancel-requested").text
