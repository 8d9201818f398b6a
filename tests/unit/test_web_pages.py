"""The pages' answers that need no store: an unknown id is a 404 at once (no wait), and a
command that clashes with a concurrent write is the pages' own 409, not the API's JSON."""

from __future__ import annotations

import html
import json
import re
import time
import warnings
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import pytest
from fastapi import FastAPI

from adapters.job_types import EntryPointJobTypeCatalog
from adapters.master_key import MasterKey
from domain.errors import Conflict, NameTaken
from engine.capabilities import summarize
from interfaces.http.problems import install as install_problems
from interfaces.web import mount
from interfaces.web.consistency import read_after_write
from projections.runs import RUN_COLUMNS
from tests.unit.test_web_session import FakeClock, FakeTokens, session_csrf, sign_in

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient warns about httpx on import
    from starlette.testclient import TestClient


class EmptyViews:
    """Views that know no job and no run, as for an id that was never created."""

    reads = 0

    def get_job(self, _job_id: Any) -> None:
        EmptyViews.reads += 1

    def get_run(self, _run_id: Any) -> None:
        EmptyViews.reads += 1

    def history(self, _job_id: Any) -> list[Any]:
        EmptyViews.reads += 1
        return []

    def run_deliveries(self, _run_id: Any) -> list[Any]:
        return []  # the run page lists what was sent for the run: nothing here

    def job_triggers(self, _job_id: Any) -> list[Any]:
        return []

    def channels(self) -> list[Any]:
        return []


class ClashingLedger:
    """Every command loses a race with another writer of the same job."""

    def _clash(self, *_args: Any, **_kwargs: Any) -> Any:
        raise Conflict("the job changed while this command ran")

    store_secret = remove_secret = request_run = delete_job = _clash
    job_types = EntryPointJobTypeCatalog()

    def register_job(self, **kwargs: Any) -> Any:
        raise NameTaken(kwargs["name"])

    def record_sign_in(self, *_args: Any, **_kwargs: Any) -> None:
        """Signing in is not a command on a job: it goes through."""


def fake_system(views: Any) -> SimpleNamespace:
    """A System as the pages use it: one fake for every view, and a ledger that clashes."""
    return SimpleNamespace(
        master_key=MasterKey.generate(),
        jobs=views,
        runs=views,
        logs=views,
        audit=views,
        notifications=EmptyViews(),
        app=ClashingLedger(),
        # No worker has recorded what it can run; the fakes' runs have ended, so none waits.
        job_type_availability=lambda names=(): summarize(names, []),
        waiting_reason=lambda _run: None,
    )


@pytest.fixture
def app() -> FastAPI:
    app = FastAPI()
    app.state.system = fake_system(EmptyViews())
    app.state.tokens = FakeTokens()
    app.state.clock = FakeClock()
    install_problems(app)  # the API's handlers: what a Conflict became before
    mount(app)
    return app


@pytest.fixture
def signed_in(app: FastAPI) -> TestClient:
    c = TestClient(app, base_url="http://testserver", follow_redirects=False)
    sign_in(c)
    return c


@pytest.mark.parametrize(
    "path", ["/jobs/{id}", "/jobs/{id}/history", "/runs/{id}", "/runs/{id}/log.txt"]
)
def test_an_unknown_id_is_a_404_at_once(signed_in: TestClient, path: str) -> None:
    EmptyViews.reads = 0
    started = time.monotonic()
    response = signed_in.get(path.format(id=uuid4()))
    elapsed = time.monotonic() - started
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert elapsed < 1.0, f"{path} took {elapsed:.2f} s for an unknown id"
    assert EmptyViews.reads == 1  # read once: no polling for something nobody wrote


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/jobs/{id}/secrets", {"name": "API_KEY", "value": "v"}),
        ("/jobs/{id}/secrets/API_KEY/remove", {}),
        ("/jobs/{id}/run", {"parameters": "{}"}),
        ("/jobs/{id}/delete", {"confirm": "yes"}),
    ],
)
def test_a_concurrent_write_is_a_409_page(
    app: FastAPI, signed_in: TestClient, path: str, form: dict[str, str]
) -> None:
    response = signed_in.post(
        path.format(id=uuid4()), data={**form, "csrf_token": session_csrf(signed_in, app)}
    )
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("text/html")
    assert "Someone else changed this job at the same moment" in response.text
    assert "problem" not in response.headers["content-type"]


def test_only_a_page_reached_from_a_change_waits_for_the_view() -> None:
    values = iter([None, None, "run"])
    assert read_after_write(lambda: next(values), lambda v: v is not None, wait=True) == "run"
    reads: list[int] = []
    assert read_after_write(lambda: reads.append(1), lambda v: v is not None, wait=False) is None
    assert reads == [1]


AT = datetime(2026, 11, 25, 12, tzinfo=UTC)


def a_run(**changes: Any) -> dict[str, Any]:
    """A run row as the runs view gives it: finished, succeeded, no retry."""
    run: dict[str, Any] = dict.fromkeys(RUN_COLUMNS)
    run.update(
        id=uuid4(),
        job_id=uuid4(),
        job_name="Sync",
        job_version=1,
        job_type="command",
        trigger="manual",
        status="succeeded",
        requested_at=AT,
        requested_by="bob",
        started_at=AT,
        finished_at=AT,
        exit_code=0,
        attempt=1,
        worker="w-1",
        log_level="Warning",
        version=3,
        discarded_entries=0,
        parameters={},
        overrides=[],
    )
    run.update(changes)
    return run


def run_page(
    run: dict[str, Any],
    *,
    following: dict[str, Any] | None = None,
    job: dict[str, Any] | None = None,
    entries: list[dict[str, Any]] | None = None,
    archive_dir: Any = None,
) -> str:
    """The run page of `run` as a signed-in administrator sees it, over fake views."""

    class OneRun:
        def get_run(self, run_id: Any) -> dict[str, Any] | None:
            return run if run_id == run["id"] else None

        def entries(self, _run_id: Any, **_kwargs: Any) -> tuple[list[Any], None]:
            return entries or [], None

        def next_attempt(self, run_id: Any) -> dict[str, Any] | None:
            return following if run_id == run["id"] else None

        def get_job(self, job_id: Any) -> dict[str, Any] | None:
            return job if job_id == run["job_id"] else None

    app = FastAPI()
    app.state.system = fake_system(OneRun())
    app.state.system.settings = SimpleNamespace(retention=SimpleNamespace(archive_dir=archive_dir))
    app.state.tokens = FakeTokens()
    app.state.clock = FakeClock()
    mount(app)
    client = TestClient(app, base_url="http://testserver", follow_redirects=False)
    sign_in(client)
    page = client.get(f"/runs/{run['id']}")
    assert page.status_code == 200
    return page.text


def test_the_run_page_shows_how_many_log_entries_were_discarded() -> None:
    page = run_page(a_run(discarded_entries=42))
    assert 'data-field="discarded_entries">42 discarded<' in page


def test_a_finished_run_with_no_log_says_it_wrote_none_and_what_was_discarded() -> None:
    page = run_page(a_run(discarded_entries=3))
    assert (
        '<p id="run-sentence" class="run-sentence" aria-live="polite">This run succeeded.<' in page
    )
    assert ">This run wrote no log entries. 3 entries below Warning were discarded.<" in page
    assert "yet" not in page
    page = run_page(a_run(status="queued", worker=None, started_at=None, finished_at=None))
    assert ">This run is waiting for a worker.<" in page and ">No log entries yet.<" in page


def test_the_worker_row_is_there_hidden_until_a_worker_runs_the_run() -> None:
    queued = run_page(a_run(status="queued", worker=None, started_at=None, finished_at=None))
    assert '<dt data-row="worker" hidden>Worker</dt><dd data-field="worker" hidden></dd>' in queued
    running = run_page(a_run(status="running", worker="w-7", finished_at=None))
    assert '<dt data-row="worker">Worker</dt><dd data-field="worker">w-7</dd>' in running
    assert ">This run is running on worker w-7.<" in running


def test_an_attempt_links_to_the_one_before_and_the_one_after() -> None:
    before, after = uuid4(), uuid4()
    job = {"id": None, "policies": {"max_retries": 2}}
    run = a_run(attempt=2, retry_of=before, trigger="retry", status="failed", exit_code=1)
    job["id"] = run["job_id"]
    page = run_page(run, following=a_run(id=after, attempt=3), job=job)
    assert (
        f'2 of 3 · <a rel="prev" href="/runs/{before}">previous attempt</a>'
        f' · <a rel="next" href="/runs/{after}">next attempt</a></dd>'
    ) in page
    first = run_page(a_run(), job={**job, "policies": {}})
    assert 'data-attempt="1">1 of 1</dd>' in first
    assert "previous attempt" not in first and "next attempt" not in first
    # A job gone, or a policy lowered since: the count it would give is not claimed.
    assert 'data-attempt="2">2 · <a rel="prev"' in run_page(run)


def test_the_parameters_are_shown_as_json_with_the_overridden_keys_marked() -> None:
    parameters = {"tenant": "acme", "batch": 1, "filter": {"ids": [1, 2], "since": "<2026>"}}
    page = run_page(a_run(parameters=parameters, overrides=["batch", "filter"]))
    block = page[page.index('<details id="run-parameters"') : page.index("</details>")]
    assert "<summary>Parameters (2 overridden for this run)</summary>" in block
    pre = block[block.index("<pre") : block.index("</pre>")]
    marked = re.findall(r'<span data-key="(\w+)" class="overridden"', pre)
    assert marked == ["batch", "filter"]
    assert '<span data-key="tenant">' in pre
    text = html.unescape(re.sub(r"<[^>]+>", "", pre + "</pre>"))
    assert json.loads(text) == parameters  # the marks leave valid, pretty-printed JSON
    assert "&lt;2026&gt;" in pre  # escaped
    assert "Overridden for this run (marked): batch, filter." in block


def test_a_log_deleted_by_retention_says_when_and_links_its_archive(tmp_path: Any) -> None:
    run = a_run(log_purged_at=AT, log_purged_entries=1200)
    page = run_page(run, archive_dir=tmp_path)
    assert "Log deleted" in page and "1200 entries" in page
    assert "was deleted by retention" in page and 'data-field="log_archive"' not in page
    (tmp_path / f"{run['id']}.log.gz").write_bytes(b"")
    page = run_page(run, archive_dir=tmp_path)
    assert f'href="/api/runs/{run["id"]}/log-archive"' in page


def test_a_run_recorded_before_parameters_were_kept_says_so() -> None:
    page = run_page(a_run(parameters=None))
    assert "Not recorded for this run" in page


def test_a_taken_name_is_shown_beside_the_name_field(app: FastAPI, signed_in: TestClient) -> None:
    form = {
        "name": "Nightly sync",
        "job_type": "command",
        "program": '{"argv": ["true"]}',
        "parameters": "{}",
        "log_level": "Info",
        "timezone": "UTC",
        "csrf_token": session_csrf(signed_in, app),
    }
    response = signed_in.post("/jobs/new", data=form)
    assert response.status_code == 409, response.text
    assert 'id="name-error"' in response.text
    assert "another job already has this name" in response.text
