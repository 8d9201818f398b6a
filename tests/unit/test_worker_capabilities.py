"""Workers say which job types they can run: they claim only those, a run nobody can run
waits queued with the reason, and fails with it once it has waited long enough."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from adapters.job_types import EntryPointJobTypeCatalog
from application.ports import ThreadWakeup
from domain.errors import Conflict, InvalidInput
from engine.capabilities import NO_WORKER, summarize
from engine.ports import Capability
from engine.worker import Worker
from interfaces.settings import DEFAULT_UNRUNNABLE_WAIT_SECONDS, Settings
from jobtypes import AVAILABLE, Availability, Execution, LogSink, Outcome, StopSignal
from tests.fakes import FakeClock, FakeWorkerCapabilities, in_memory_ledger

NO_SYNC = Availability(False, reason="sync not found on PATH; install it", detail="PATH")
WAIT = 10.0


class Recording:
    def __init__(self) -> None:
        self.ran: list[str] = []

    def execute(self, execution: Execution, log: LogSink, stop: StopSignal) -> Outcome:
        self.ran.append(execution.job_type)
        return Outcome(0)


@pytest.fixture
def app():
    ledger = in_memory_ledger()
    yield ledger
    ledger.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def worker(app: Any, clock: FakeClock, executor: Recording, worker_id: str, **kwargs: Any):
    return Worker(
        app,
        executor_for=lambda _name: executor,
        clock=clock,
        wakeup=ThreadWakeup(),
        worker_id=worker_id,
        reap_interval=0.0,  # look for runs to give up on at every step
        **kwargs,
    )


def job(app: Any, **policies: Any) -> Any:
    return app.register_job(
        name=f"Sync {uuid4().hex[:8]}",
        job_type="command",
        program={"argv": ["sync"]},
        actor="alice",
        policies=policies,
    )


# The summary across live workers -------------------------------------------------------


def test_a_type_is_available_when_any_live_worker_can_run_it():
    live = [
        Capability("w1", "powershell", False, "pwsh not found on PATH"),
        Capability("w2", "powershell", True, detail="pwsh 7.4.6 at /usr/bin/pwsh"),
    ]
    assert summarize(["powershell"], live)["powershell"].available
    assert summarize(["powershell"], live)["powershell"].workers == 1


def test_the_reason_names_the_type_and_each_distinct_reason_once():
    live = [
        Capability("w1", "powershell", False, "pwsh not found on PATH"),
        Capability("w2", "powershell", False, "pwsh not found on PATH"),
        Capability("w3", "powershell", False, "pwsh 7.2.0 at /usr/bin/pwsh is older than 7.4"),
        Capability("w3", "command", True),
    ]
    found = summarize(["powershell", "command", "echo"], live)
    assert found["powershell"].available is False
    assert found["powershell"].reason == (
        "no worker can run powershell jobs: pwsh not found on PATH; "
        "pwsh 7.2.0 at /usr/bin/pwsh is older than 7.4"
    )
    assert found["command"].available is True and found["command"].reason is None
    assert found["echo"].reason == "no worker has the echo job type installed"


def test_with_no_live_worker_nothing_is_available():
    found = summarize(["command"], [])
    assert found["command"].available is False and found["command"].reason == NO_WORKER


# The probe through the catalog ---------------------------------------------------------


class NeedsThing:
    name = "needs-thing"
    description = "Runs only where the thing is."
    program_schema: dict[str, Any] = {"type": "object"}

    def __init__(self, check: Any) -> None:
        self.check = check

    def executor(self) -> Recording:
        return Recording()


def test_a_type_without_a_check_is_available_and_a_check_decides_for_its_type():
    catalog = EntryPointJobTypeCatalog([NeedsThing(lambda: NO_SYNC)])
    assert catalog.check("needs-thing") == NO_SYNC
    plain = EntryPointJobTypeCatalog()
    assert plain.check("command") is AVAILABLE


def test_a_check_that_raises_makes_its_type_unavailable_and_says_so():
    def broken() -> Availability:
        raise RuntimeError("probe exploded")

    found = EntryPointJobTypeCatalog([NeedsThing(broken)]).check_all()["needs-thing"]
    assert found.available is False
    assert found.reason == "the needs-thing job type's check failed: probe exploded"


def test_checking_an_unknown_type_is_refused_naming_job_type():
    with pytest.raises(InvalidInput) as refused:
        EntryPointJobTypeCatalog().check("nope")
    assert refused.value.field == "job_type"


# Claims ---------------------------------------------------------------------------------


def test_a_worker_does_not_claim_a_run_of_a_type_it_cannot_run(app, clock):
    run = app.request_run(job(app).id, actor="bob")
    records = FakeWorkerCapabilities()
    executor = Recording()
    unable = worker(
        app, clock, executor, "w1", capabilities={"command": NO_SYNC}, capability_records=records
    )
    unable.start_up()
    unable.step()
    assert unable.wait_idle(WAIT)
    assert app.get_run(run.id).status == "queued" and executor.ran == []
    assert records.records == {"w1": {"command": NO_SYNC}}  # recorded at start


def test_a_capable_worker_claims_the_run_an_unable_one_left_queued(app, clock):
    run = app.request_run(job(app).id, actor="bob")
    records = FakeWorkerCapabilities()
    executor = Recording()
    unable = worker(
        app, clock, executor, "w1", capabilities={"command": NO_SYNC}, capability_records=records
    )
    unable.step()
    able = worker(
        app, clock, executor, "w2", capabilities={"command": AVAILABLE}, capability_records=records
    )
    able.step()
    assert able.wait_idle(WAIT)
    stored = app.get_run(run.id)
    assert stored.status == "succeeded" and stored.worker == "w2"


def test_a_type_missing_from_the_probe_results_is_not_claimed(app, clock):
    run = app.request_run(job(app).id, actor="bob")
    unable = worker(app, clock, Recording(), "w1", capabilities={"python": AVAILABLE})
    unable.step()
    assert unable.wait_idle(WAIT)
    assert app.get_run(run.id).status == "queued"


# Giving up after the wait ----------------------------------------------------------------


def requested(app: Any, clock: FakeClock, job_id: Any) -> Any:
    """A run requested now, on the fake clock (the wait counts from its request time)."""
    run = app.request_run(job_id, actor="bob")
    clock.at = run.created_on
    return run


def test_a_run_nobody_can_run_fails_with_the_reason_only_after_the_wait(app, clock):
    run = requested(app, clock, job(app, max_retries=2).id)
    records = FakeWorkerCapabilities()
    unable = worker(
        app,
        clock,
        Recording(),
        "w1",
        capabilities={"command": NO_SYNC},
        capability_records=records,
        unrunnable_wait=timedelta(minutes=10),
    )
    unable.step()
    clock.advance(599)
    unable.step()
    assert app.get_run(run.id).status == "queued"
    clock.advance(1)
    unable.step()
    failed = app.get_run(run.id)
    assert failed.status == "failed" and failed.exit_code is None and failed.started_at is None
    assert failed.error == (
        "no worker can run command jobs: sync not found on PATH; install it "
        "(gave up after 600 s queued)"
    )
    assert app.retry_run_for(run.id) is None  # a retry would wait for the same worker


def test_the_jobs_timeout_is_the_wait_when_it_has_one(app, clock):
    run = requested(app, clock, job(app, timeout_seconds=30).id)
    unable = worker(app, clock, Recording(), "w1", capabilities={"command": NO_SYNC})
    unable.step()
    clock.advance(29)
    unable.step()
    assert app.get_run(run.id).status == "queued"
    clock.advance(1)
    unable.step()
    assert app.get_run(run.id).status == "failed"


def test_a_run_is_not_given_up_while_a_live_worker_can_run_it(app, clock):
    """The capable worker is busy (or slow to claim): the run waits for it, however long."""
    run = requested(app, clock, job(app).id)
    records = FakeWorkerCapabilities()
    records.record("busy", {"command": AVAILABLE})
    unable = worker(
        app,
        clock,
        Recording(),
        "w1",
        capabilities={"command": NO_SYNC},
        capability_records=records,
        unrunnable_wait=timedelta(seconds=60),
    )
    unable.step()
    clock.advance(3600)
    unable.step()
    assert app.get_run(run.id).status == "queued"
    records.forget("busy")  # its lease expired: it is gone
    clock.advance(5)
    unable.step()
    assert app.get_run(run.id).status == "failed"


def test_a_stopped_worker_forgets_its_record(app, clock):
    records = FakeWorkerCapabilities()
    w = worker(app, clock, Recording(), "w1", capabilities={}, capability_records=records)
    w.start()
    assert "w1" in records.records
    w.stop(grace=1)
    assert records.records == {}


# The setting ----------------------------------------------------------------------------


def test_the_wait_setting_defaults_to_an_hour_and_refuses_bad_values_naming_it(tmp_path):
    base = {"JOBLEDGER_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(base).unrunnable_wait_seconds == DEFAULT_UNRUNNABLE_WAIT_SECONDS
    env = {**base, "JOBLEDGER_UNRUNNABLE_WAIT_SECONDS": "90"}
    assert Settings.from_env(env).unrunnable_wait_seconds == 90
    for bad in ("0", "-5", "soon", "nan", "inf"):
        with pytest.raises(InvalidInput) as refused:
            Settings.from_env({**base, "JOBLEDGER_UNRUNNABLE_WAIT_SECONDS": bad})
        assert refused.value.field == "JOBLEDGER_UNRUNNABLE_WAIT_SECONDS"


def test_only_a_queued_run_can_be_given_up(app):
    run = app.request_run(job(app).id, actor="bob")
    app.start_run(run.id, worker="w1")
    with pytest.raises(Conflict):
        app.give_up_run(run.id, reason="no worker can run command jobs")
    assert app.get_run(run.id).status == "running"
