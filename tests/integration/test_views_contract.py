"""One contract for the four read-model views, run against SQLite and PostgreSQL.

Events come from driving the real aggregates, through the store's own encoding (orjson and
the typed mapper), and are fed to the projections in batches with increasing positions, as
the follower does. The PostgreSQL run needs JOBLEDGER_TEST_DATABASE_URL; each test gets its
own schema, because tests share one database.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import orjson
import psycopg
import pytest
from eventsourcing.persistence import InfrastructureFactory, IntegrityError, Tracking
from eventsourcing.utils import Environment
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from adapters.orjson_transcoder import OrjsonTranscoder, TypedMapper
from adapters.postgres_views import (
    PostgresAuditView,
    PostgresJobsView,
    PostgresLogsView,
    PostgresRunsView,
)
from adapters.postgres_views.search_index import create_search_index
from adapters.sqlite_views import SQLiteAuditView, SQLiteJobsView, SQLiteLogsView, SQLiteRunsView
from domain import access_log
from domain import run as runs
from domain.errors import InvalidInput
from domain.job import Job, register
from domain.log_level import LogLevel
from domain.run_log import open_log
from domain.schedule import CronSchedule
from projections.audit import AuditProjection
from projections.base import BatchProjection, BatchTracking, encode_cursor
from projections.jobs import JobQuery, JobsProjection
from projections.logs import LogsProjection
from projections.runs import RunsProjection

DATABASE_URL = os.environ.get("JOBLEDGER_TEST_DATABASE_URL")
CIPHERTEXT = "v1.CIPHERTEXT-THAT-MUST-NEVER-LEAVE-THE-EVENT-STORE"
MAPPER = TypedMapper(transcoder=OrjsonTranscoder())
PROJECTIONS = (JobsProjection, RunsProjection, LogsProjection, AuditProjection)


@dataclass
class Views:
    """The four projections over one store, fed batch by batch like the follower does."""

    jobs: JobsProjection
    runs: RunsProjection
    logs: LogsProjection
    audit: AuditProjection
    position: int = 0
    batches: list[tuple[list[Any], int]] = field(default_factory=list)

    @property
    def projections(self) -> list[BatchProjection[Any]]:
        return [self.jobs, self.runs, self.logs, self.audit]

    def feed(self, *aggregates: Any) -> int:
        """One batch: the pending events of `aggregates`, in that order, through the store's
        encoding. Positions leave gaps, as other events would in a real log."""
        events = [
            MAPPER.to_domain_event(MAPPER.to_stored_event(event))
            for aggregate in aggregates
            for event in aggregate.collect_events()
        ]
        self.position += 1 + len(events)
        self.apply(events, self.position)
        self.batches.append((events, self.position))
        return self.position

    def apply(self, events: list[Any], position: int) -> None:
        for projection in self.projections:
            projection.process_batch(events, Tracking(projection.name, position))


def make_views(env: dict[str, str], view_classes: tuple[type, ...]) -> tuple[Views, list[Any]]:
    """The views as the composition root builds them: a factory per projection name."""
    factories = [InfrastructureFactory.construct(Environment(p.name, env)) for p in PROJECTIONS]
    projections = [
        projection(view=factory.tracking_recorder(view_class))
        for projection, factory, view_class in zip(
            PROJECTIONS, factories, view_classes, strict=True
        )
    ]
    return Views(*projections), factories  # type: ignore[arg-type]


def new_job(name: str = "nightly", **kwargs: Any) -> Job:
    args: dict[str, Any] = {"job_type": "shell", "program": {"cmd": "true"}, "actor": "alice"}
    return register(name=name, **{**args, **kwargs})


def new_run(job: Job, **kwargs: Any) -> runs.Run:
    args: dict[str, Any] = {
        "job_id": job.id,
        "job_version": job.version,
        "job_name": job.name,
        "job_type": job.job_type,
        "trigger": "manual",
        "requested_by": "bob",
        "parameters": {},
        "log_level": "Info",
        "timeout_seconds": 60,
    }
    return runs.request(**{**args, **kwargs})


def dump(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def page_all(query: Any, limit: int, **filters: Any) -> list[Any]:
    """Every item of a keyset-paginated query, page by page, checking each page's size."""
    items: list[Any] = []
    cursor = None
    while True:
        page, cursor = query(limit=limit, cursor=cursor, **filters)
        items += page
        if cursor is None:
            assert len(page) <= limit
            return items
        assert len(page) == limit


def keys_of(entries: list[dict[str, Any]]) -> list[str]:
    return [e["action"] for e in entries]


OLD_AUDIT_COLUMNS = "job_id, version, job_name, event, at, actor, changes"


class ViewsContract:
    """The behaviour every backend's views must have. Subclasses provide `views`."""

    @pytest.fixture
    def views(self) -> Iterator[Views]:
        raise NotImplementedError

    # --- jobs ---------------------------------------------------------------------------

    def test_job_lifecycle(self, views: Views) -> None:
        job = new_job(schedule=CronSchedule.parse("0 2 * * *", "UTC"))
        views.feed(job)
        state = views.jobs.view.get_job(job.id)
        assert state is not None and state["version"] == 1 and state["enabled"] is True
        assert state["schedule"] == {"cron": "0 2 * * *", "timezone": "UTC"}
        assert (state["schedule_cron"], state["schedule_timezone"]) == ("0 2 * * *", "UTC")
        assert state["program"] == {"cmd": "true"} and state["parameters"] == {}
        assert state["created_at"] == state["updated_at"] == job.created_on
        assert state.get("next_run_at") is None and state["last_run_id"] is None

        job.rename("nightly-etl", "bob")
        views.feed(job)
        job.store_secret("TOKEN", CIPHERTEXT, "bob")
        job.change_log_level("Warning", "carol")
        job.change_policies({"max_retries": 2}, "carol")
        views.feed(job)
        job.disable("dave")
        views.feed(job)

        state = views.jobs.view.get_job(job.id)
        assert state is not None
        assert state["version"] == job.version == 6
        assert (state["name"], state["log_level"], state["enabled"]) == (
            "nightly-etl",
            "Warning",
            False,
        )
        assert state["policies"] == {**job.policies, "max_retries": 2}
        token = job.secrets["TOKEN"]
        assert state["secrets"] == [
            {"name": "TOKEN", "updated_at": token["updated_at"], "updated_by": "bob"}
        ]
        assert (state["created_by"], state["updated_by"]) == ("alice", "dave")
        assert state["updated_at"] == job.modified_on
        assert views.jobs.view.list_jobs()[0] == [state]

        job.delete("erin")
        views.feed(job)
        assert views.jobs.view.get_job(job.id) is None
        assert views.jobs.view.list_jobs() == ([], None)

    def test_the_jobs_view_matches_a_job_replayed_from_its_events(self, views: Views) -> None:
        job = new_job(description="d", parameters={"n": 1}, policies={"timeout_seconds": 5})
        job.store_secret("A", CIPHERTEXT, "alice")
        views.feed(job)  # registered and changed in one batch: one insert
        job.store_secret("B", CIPHERTEXT, "bob")
        job.remove_secret("A", "bob")
        job.change_program({"cmd": "false"}, "bob")
        job.change_parameters({"n": 2}, "bob")
        job.change_description("new", "bob")
        job.change_policies({"overlap": "queue", "timeout_seconds": None}, "bob")
        views.feed(job)
        state = views.jobs.view.get_job(job.id)
        assert state is not None
        assert {key: state[key] for key in ("description", "program", "parameters")} == {
            "description": "new",
            "program": {"cmd": "false"},
            "parameters": {"n": 2},
        }
        assert state["policies"] == job.policies
        assert state["secrets"] == job.secret_names()

    def test_a_job_sharing_an_older_jobs_name_is_flagged_until_renamed(self, views: Views) -> None:
        holder, sharer = new_job("Nightly"), new_job("nightly")
        views.feed(holder, sharer)
        sharer.flag_shared_name(holder.id, "system:unique-names")
        views.feed(sharer)
        listed = {j["id"]: j["name_shared_with"] for j in views.jobs.view.list_jobs()[0]}
        assert listed == {holder.id: None, sharer.id: holder.id}
        sharer.rename("NIGHTLY", "bob")  # the same name in other letters: still shared
        views.feed(sharer)
        assert views.jobs.view.get_job(sharer.id)["name_shared_with"] == holder.id  # type: ignore[index]
        sharer.rename("Nightly (Contoso)", "bob")
        views.feed(sharer)
        assert views.jobs.view.get_job(sharer.id)["name_shared_with"] is None  # type: ignore[index]
        assert sharer.name_shared_with is None  # the aggregate agrees with the view

    def test_a_jobs_table_made_before_the_shared_name_flag_gets_it(self, views: Views) -> None:
        job = new_job()
        views.feed(job)
        self.drop_column(views, "view_jobs", "name_shared_with")
        views.jobs.view.create_table()  # what every start does
        assert views.jobs.view.get_job(job.id)["name_shared_with"] is None  # type: ignore[index]

    def test_a_jobs_parameters_schema_is_set_changed_and_removed(self, views: Views) -> None:
        schema = {
            "type": "object",
            "properties": {
                "mode": {"type": "string", "enum": ["full", "delta"], "default": "delta"},
                "size": {"type": "integer", "minimum": 1, "description": "rows"},
            },
            "required": ["size"],
        }
        typed, free = new_job("typed", parameters_schema=schema), new_job("free")
        views.feed(typed, free)
        listed = {j["name"]: j["parameters_schema"] for j in views.jobs.view.list_jobs()[0]}
        assert listed == {"typed": schema, "free": None}
        wider = {**schema, "required": []}
        typed.change_parameters_schema(wider, "bob")
        views.feed(typed)
        assert views.jobs.view.get_job(typed.id)["parameters_schema"] == wider  # type: ignore[index]
        typed.change_parameters_schema(None, "bob")
        free.change_parameters_schema(schema, "bob")
        views.feed(typed, free)
        assert views.jobs.view.get_job(typed.id)["parameters_schema"] is None  # type: ignore[index]
        assert views.jobs.view.get_job(free.id)["parameters_schema"] == schema  # type: ignore[index]
        changes = [e["changes"] for e in views.audit.view.history(typed.id)]
        assert changes[-2] == {"parameters_schema": {"from": schema, "to": wider}}
        assert changes[-1] == {"parameters_schema": {"from": wider, "to": None}}

    def test_a_jobs_table_made_before_parameters_schemas_gets_the_column(
        self, views: Views
    ) -> None:
        job = new_job()
        views.feed(job)
        self.drop_column(views, "view_jobs", "parameters_schema")
        views.jobs.view.create_table()  # what every start does
        assert views.jobs.view.get_job(job.id)["parameters_schema"] is None  # type: ignore[index]
        job.change_parameters_schema({"type": "object"}, "bob")
        views.feed(job)
        assert views.jobs.view.get_job(job.id)["parameters_schema"] == {"type": "object"}  # type: ignore[index]

    def test_no_ciphertext_anywhere(self, views: Views) -> None:
        job = new_job()
        job.store_secret("TOKEN", CIPHERTEXT, "alice")
        views.feed(job)
        job.store_secret("TOKEN", CIPHERTEXT + "-2", "bob")
        job.store_secret("OTHER", CIPHERTEXT + "-3", "bob")
        views.feed(job)
        results = [
            views.jobs.view.get_job(job.id),
            views.jobs.view.list_jobs(),
            views.audit.view.history(job.id),
            views.audit.view.entries(),
            views.audit.view.entries(job_id=job.id),
        ]
        text = dump(results)
        assert "TOKEN" in text and "OTHER" in text
        assert CIPHERTEXT not in text
        history = views.audit.view.history(job.id)
        assert [entry["changes"] for entry in history[1:]] == [
            {"secrets.TOKEN": {"from": None, "to": "(set)"}},
            {"secrets.TOKEN": {"from": "(set)", "to": "(set)"}},
            {"secrets.OTHER": {"from": None, "to": "(set)"}},
        ]

    def test_list_jobs_filters_and_pages_by_name_then_id(self, views: Views) -> None:
        jobs = [
            new_job("alpha"),
            new_job("alpha-2", job_type="python"),
            new_job("Alpha"),
            new_job("beta"),
            new_job("beta"),
            new_job("gamma", enabled=False, job_type="python"),
            new_job("alphabet", enabled=False),
        ]
        views.feed(*jobs[:3])
        views.feed(*jobs[3:])
        expected = sorted(jobs, key=lambda j: (j.name, str(j.id)))
        listed = page_all(views.jobs.view.list_jobs, 2)
        assert [j["id"] for j in listed] == [j.id for j in expected]
        assert [j["name"] for j in listed][:4] == ["Alpha", "alpha", "alpha-2", "alphabet"]

        def names(**filters: Any) -> list[str]:
            listed = partial(views.jobs.view.list_jobs, JobQuery(**filters))
            return [j["name"] for j in page_all(listed, 1)]

        assert names(name_prefix="alpha") == ["alpha", "alpha-2", "alphabet"]
        assert names(name_prefix="alpha", enabled=True) == ["alpha", "alpha-2"]
        assert names(enabled=False) == ["alphabet", "gamma"]
        assert names(job_type="python") == ["alpha-2", "gamma"]
        assert names(name_prefix="zeta") == []
        with pytest.raises(InvalidInput):
            views.jobs.view.list_jobs(cursor="garbage")

    def test_job_search_is_a_case_insensitive_substring_of_name_or_description(
        self, views: Views
    ) -> None:
        jobs = [
            new_job("Invoice sync", description="Pushes invoices to ConnectWise"),
            new_job("nightly INVOICE export", enabled=False),
            new_job("Backup", description="copies the invoice archive"),
            new_job("Straße cleanup", description="100% of the_files"),
            new_job("unrelated"),
        ]
        views.feed(*jobs)

        def found(search: str, **filters: Any) -> list[str]:
            listed = partial(views.jobs.view.list_jobs, JobQuery(search=search, **filters))
            page = page_all(listed, 1)
            return [j["name"] for j in page]

        everywhere = ["Backup", "Invoice sync", "nightly INVOICE export"]
        assert found("invoice") == everywhere
        assert found("INVOICE") == everywhere and found("nVoIcE") == everywhere
        assert found("invoice", enabled=True) == ["Backup", "Invoice sync"]
        assert found("connectwise") == ["Invoice sync"]  # in the description only
        assert found("sync") == ["Invoice sync"] and found("export") == ["nightly INVOICE export"]
        assert found("STRASSE") == found("straße") == ["Straße cleanup"]  # Unicode case folding
        # LIKE's wildcards are plain characters in a search.
        assert found("100%") == found("the_f") == ["Straße cleanup"]
        assert found("%") == found("_") == ["Straße cleanup"]
        assert found("zzz") == []
        # A rename and a new description are searched as they are now.
        jobs[4].rename("Ledger reconciliation", "alice")
        views.feed(jobs[4])
        assert found("reconcil") == ["Ledger reconciliation"] and found("unrelated") == []
        # The set-up that adds and fills the column on an older view changes nothing here.
        views.jobs.view.create_table()
        assert found("invoice") == everywhere

    def test_a_jobs_view_made_before_the_search_column_gets_it_filled_at_start(
        self, views: Views
    ) -> None:
        views.feed(new_job("Invoice sync"), new_job("Backup", description="the INVOICE archive"))
        self.drop_search_column(views)
        views.jobs.view.create_table()  # what every start does
        found = views.jobs.view.list_jobs(JobQuery(search="invoice"))[0]
        assert [j["name"] for j in found] == ["Backup", "Invoice sync"]

    def drop_search_column(self, views: Views) -> None:
        raise NotImplementedError

    def test_jobs_filter_by_folder_and_subfolders_tags_and_last_run_status(
        self, views: Views
    ) -> None:
        jobs = [
            new_job("a", folder="Customers/Contoso", tags=["billing", "nightly"]),
            new_job("b", folder="Customers/Contoso/EU", tags=["billing"]),
            new_job("c", folder="Customers/Contosoft", tags=["nightly"]),  # not a subfolder
            new_job("d", folder="Internal"),
            new_job("e"),
        ]
        failed, succeeded = new_run(jobs[0]), new_run(jobs[1])
        views.feed(*jobs, failed, succeeded)
        failed.start("w1")
        failed.fail(1, "boom")
        succeeded.start("w1")
        succeeded.succeed()
        views.feed(failed, succeeded)

        def names(**filters: Any) -> list[str]:
            listed = partial(views.jobs.view.list_jobs, JobQuery(**filters))
            return [j["name"] for j in page_all(listed, 1)]

        assert names(folder="Customers/Contoso") == ["a", "b"]
        assert names(folder="Customers") == ["a", "b", "c"]
        assert names(folder="Customers/Contoso/EU") == ["b"] and names(folder="Cust") == []
        assert names(tags=["billing"]) == ["a", "b"]
        assert names(tags=["billing", "nightly"]) == ["a"]
        assert names(folder="Customers", tags=["nightly"]) == ["a", "c"]
        assert names(status="failed") == ["a"] and names(status="succeeded") == ["b"]
        job = views.jobs.view.get_job(jobs[0].id)
        assert job is not None and job["folder"] == "Customers/Contoso"
        assert job["tags"] == ["billing", "nightly"]
        assert views.jobs.view.get_job(jobs[4].id)["folder"] == ""  # type: ignore[index]

    def test_moving_and_retagging_jobs_updates_filters_and_counts(self, views: Views) -> None:
        first, second = new_job("first", tags=["x"]), new_job("second", folder="Ops")
        views.feed(first, second)
        assert views.jobs.view.job_folders() == {"": 1, "Ops": 1}
        assert views.jobs.view.job_tags() == {"x": 1}
        first.move_to_folder("Ops/Backups", "bob")
        first.retag(["y", "x"], "bob")
        second.retag(["y"], "bob")
        views.feed(first, second)
        assert views.jobs.view.job_folders() == {"Ops": 1, "Ops/Backups": 1}
        assert views.jobs.view.job_tags() == {"x": 1, "y": 2}
        assert [j["name"] for j in views.jobs.view.list_jobs(JobQuery(tags=["y"]))[0]] == [
            "first",
            "second",
        ]
        assert [
            j["name"] for j in views.jobs.view.list_jobs(JobQuery(folder="Ops/Backups"))[0]
        ] == ["first"]
        history = views.audit.view.history(first.id)
        assert [entry["changes"] for entry in history[1:]] == [
            {"folder": {"from": "", "to": "Ops/Backups"}},
            {"tags": {"from": ["x"], "to": ["y", "x"]}},
        ]

    def test_jobs_sort_by_last_run_or_last_status_page_by_page(self, views: Views) -> None:
        jobs = [new_job(name) for name in ("never", "old", "new", "also-new", "queued")]
        views.feed(*jobs)
        runs_by_job = {}
        for job in jobs[1:]:
            run = new_run(job)
            views.feed(run)  # one batch each: request times in this order
            runs_by_job[job.name] = run
        for name, ending in (("old", "fail"), ("new", "succeed"), ("also-new", "fail")):
            run = runs_by_job[name]
            run.start("w1")
            run.succeed() if ending == "succeed" else run.fail(1, "x")
            views.feed(run)
        for limit in (1, 2, 10):
            by_run = page_all(views.jobs.view.list_jobs, limit, sort="last_run")
            assert [j["name"] for j in by_run] == ["queued", "also-new", "new", "old", "never"]
            by_status = page_all(views.jobs.view.list_jobs, limit, sort="last_status")
            assert [j["name"] for j in by_status] == ["never", "also-new", "old", "queued", "new"]
        with pytest.raises(InvalidInput) as refused:
            views.jobs.view.list_jobs(sort="colour")
        assert refused.value.field == "sort"
        _, name_cursor = views.jobs.view.list_jobs(limit=1)
        with pytest.raises(InvalidInput):  # a cursor of one order does not page another
            views.jobs.view.list_jobs(cursor=name_cursor, sort="last_run")

    def test_jobs_sort_by_next_run_over_all_jobs_not_one_page(self, views: Views) -> None:
        at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

        def daily(hhmm: str, zone: str = "UTC") -> CronSchedule:
            return CronSchedule.parse(f"{hhmm[3:]} {hhmm[:2]} * * *", zone)

        # Names in the opposite order of next runs, so a sort of one page by name would fail.
        jobs = [
            new_job("a-unscheduled"),
            new_job("b-disabled", schedule=daily("12:30"), enabled=False),
            new_job("c-tomorrow", schedule=daily("09:00")),
            new_job("d-tokyo-evening", schedule=daily("23:00", "Asia/Tokyo")),  # 14:00 UTC
            new_job("e-soon", schedule=daily("12:05")),
            new_job("f-same-minute", schedule=daily("12:05")),
        ]
        views.feed(*jobs)
        ids = {job.name: str(job.id) for job in jobs}
        tied = sorted(["e-soon", "f-same-minute"], key=ids.__getitem__)  # a tie goes by id
        never = sorted(["a-unscheduled", "b-disabled"], key=ids.__getitem__)
        expected = [*tied, "d-tokyo-evening", "c-tomorrow", *never]
        for limit in (1, 2, 4, 10):
            found = page_all(views.jobs.view.list_jobs, limit, sort="next_run", at=at)
            assert [j["name"] for j in found] == expected
        second, _ = views.jobs.view.list_jobs(limit=2, offset=2, sort="next_run", at=at)
        assert [j["name"] for j in second] == expected[2:4]  # a numbered page
        kept, _ = views.jobs.view.list_jobs(JobQuery(search="o"), sort="next_run", at=at)
        assert [j["name"] for j in kept] == [
            n for n in expected if "o" in n
        ]  # the filter applies first
        _, name_cursor = views.jobs.view.list_jobs(limit=1)
        with pytest.raises(InvalidInput):  # a cursor of one order does not page another
            views.jobs.view.list_jobs(cursor=name_cursor, sort="next_run", at=at)

    def test_a_jobs_table_made_before_folders_and_tags_gets_them(self, views: Views) -> None:
        job = new_job()
        views.feed(job)
        self.drop_folder_and_tags(views)
        views.jobs.view.create_table()  # what every start does
        row = views.jobs.view.get_job(job.id)
        assert row is not None and (row["folder"], row["tags"]) == ("", [])
        job.move_to_folder("A/B", "bob")
        views.feed(job)
        assert [j["id"] for j in views.jobs.view.list_jobs(JobQuery(folder="A"))[0]] == [job.id]

    def drop_folder_and_tags(self, views: Views) -> None:
        raise NotImplementedError

    def test_last_run_summary(self, views: Views) -> None:
        job, other = new_job(), new_job("other")
        views.feed(job, other)
        first = new_run(job)
        views.feed(first)
        state = views.jobs.view.get_job(job.id)
        assert state is not None
        assert (state["last_run_id"], state["last_run_status"]) == (first.id, "queued")
        assert state["last_run_at"] == first.created_on

        first.start("w1")
        views.feed(first)
        assert views.jobs.view.get_job(job.id)["last_run_status"] == "running"  # type: ignore[index]

        second = new_run(job)
        second.start("w2")
        first.succeed()  # older run finishing in the same batch: the newer one stays last
        views.feed(second, first)
        state = views.jobs.view.get_job(job.id)
        assert state is not None
        assert (state["last_run_id"], state["last_run_status"]) == (second.id, "running")
        assert state["last_run_at"] == second.created_on

        second.fail(1, "boom")
        views.feed(second)
        assert views.jobs.view.get_job(job.id)["last_run_status"] == "failed"  # type: ignore[index]

        # A run requested, started and finished in one batch.
        third = new_run(job)
        third.start("w3")
        third.time_out()
        views.feed(third)
        state = views.jobs.view.get_job(job.id)
        assert state is not None
        assert (state["last_run_id"], state["last_run_status"]) == (third.id, "timed_out")
        assert views.jobs.view.get_job(other.id)["last_run_id"] is None  # type: ignore[index]

        # A job registered with its first run in one batch.
        born = new_job("born")
        born_run = new_run(born)
        born_run.start("w4")
        views.feed(born, born_run)
        state = views.jobs.view.get_job(born.id)
        assert state is not None
        assert (state["last_run_id"], state["last_run_status"]) == (born_run.id, "running")

        # Runs of a deleted job change nothing and fail nothing.
        job.delete("alice")
        late = new_run(job)
        views.feed(job, late)
        late.skip("job deleted")
        views.feed(late)
        assert views.jobs.view.get_job(job.id) is None

    # --- runs ---------------------------------------------------------------------------

    def test_runs_filters_and_keyset_pagination(self, views: Views) -> None:
        a, b = new_job("a"), new_job("b")
        views.feed(a, b)
        made: list[runs.Run] = []
        for i in range(30):
            run = new_run(a if i % 3 else b)
            if i % 4 == 0:
                run.start(f"w{i}")
            made.append(run)
            if i % 5 == 4:
                views.feed(*made[-5:])
        for i, run in enumerate(made):  # later progress: patches of existing rows
            if run.status == "running" and i % 8 == 0:
                run.fail(3, "exit 3")
            elif run.status == "running":
                run.succeed(0)
            elif i % 7 == 0:
                run.request_cancel("carol")
        views.feed(*made)

        def newest_first(selected: list[runs.Run]) -> list[UUID]:
            ordered = sorted(selected, key=lambda r: (r.created_on, str(r.id)), reverse=True)
            return [r.id for r in ordered]

        def ids(**filters: Any) -> list[UUID]:
            found = [r["id"] for r in page_all(views.runs.view.list_runs, 4, **filters)]
            assert len(found) == len(set(found))  # no duplicates across pages
            return found

        assert ids() == newest_first(made)
        assert ids(job_id=b.id) == newest_first([r for r in made if r.job_id == b.id])
        for status in ("succeeded", "failed", "cancelled", "queued"):
            assert ids(status=status) == newest_first([r for r in made if r.status == status])
        since, until = made[10].created_on, made[20].created_on
        assert ids(since=since, until=until) == newest_first(made[10:20])
        assert ids(job_id=a.id, status="succeeded", since=since) == newest_first(
            [r for r in made[10:] if r.job_id == a.id and r.status == "succeeded"]
        )
        assert ids(job_id=uuid4()) == []

        got = views.runs.view.get_run(made[8].id)
        assert got is not None
        assert {k: got[k] for k in ("status", "exit_code", "error", "worker", "version")} == {
            "status": "failed",
            "exit_code": 3,
            "error": "exit 3",
            "worker": "w8",
            "version": 3,
        }
        assert got["requested_at"] == made[8].created_on
        assert got["finished_at"] == made[8].finished_at
        assert (got["job_id"], got["job_name"], got["trigger"]) == (a.id, "a", "manual")
        cancelled = views.runs.view.get_run(made[7].id)
        assert cancelled is not None and cancelled["cancel_requested_by"] == "carol"
        assert views.runs.view.get_run(uuid4()) is None
        with pytest.raises(InvalidInput):
            views.runs.view.list_runs(status="exploded")

    def test_run_counts_and_running_runs(self, views: Views) -> None:
        job = new_job()
        queued, running, done = new_run(job), new_run(job), new_run(job)
        running.start("w-1")
        done.start("w-2")
        done.succeed()
        scheduled = new_run(
            job, trigger="schedule", scheduled_for=datetime(2025, 1, 31, 2, tzinfo=UTC)
        )
        retry = new_run(job, trigger="retry", attempt=2, retry_of=done.id)
        views.feed(job, queued, running, done, scheduled, retry)
        counts = views.runs.view.count_by_status()
        assert counts == {**dict.fromkeys(counts, 0), "queued": 3, "running": 1, "succeeded": 1}
        assert views.runs.view.running_runs() == [
            {"id": running.id, "job_id": job.id, "worker": "w-1", "started_at": running.started_at}
        ]
        got = views.runs.view.get_run(scheduled.id)
        assert got is not None and got["scheduled_for"] == scheduled.scheduled_for
        got = views.runs.view.get_run(retry.id)
        assert got is not None and (got["attempt"], got["retry_of"]) == (2, done.id)

    def test_a_run_shows_how_many_log_entries_were_discarded_below_its_threshold(
        self, views: Views
    ) -> None:
        job = new_job()
        whole, patched, queued = new_run(job), new_run(job), new_run(job)
        whole.start("w-1")
        whole.succeed(0, discarded_entries=5)  # one batch: a whole row
        patched.start("w-2")
        views.feed(job, whole, patched, queued)
        assert views.runs.view.get_run(patched.id)["discarded_entries"] == 0  # type: ignore[index]
        patched.fail(1, "boom", discarded_entries=3)  # a later batch: a patch
        views.feed(patched)
        shown = {r["id"]: r["discarded_entries"] for r in views.runs.view.list_runs()[0]}
        assert shown == {whole.id: 5, patched.id: 3, queued.id: 0}

    def test_a_runs_table_made_before_the_discarded_count_gets_it(self, views: Views) -> None:
        job = new_job()
        run = new_run(job)
        views.feed(job, run)
        self.drop_discarded_column(views)
        views.runs.view.create_table()  # what every start does
        assert views.runs.view.get_run(run.id)["discarded_entries"] == 0  # type: ignore[index]
        run.start("w-1")
        run.time_out(discarded_entries=2)
        views.feed(run)
        assert views.runs.view.get_run(run.id)["discarded_entries"] == 2  # type: ignore[index]

    def drop_discarded_column(self, views: Views) -> None:
        self.drop_column(views, "view_runs", "discarded_entries")

    def drop_column(self, views: Views, table: str, column: str) -> None:
        raise NotImplementedError

    def test_a_run_keeps_its_effective_parameters_and_which_keys_were_overridden(
        self, views: Views
    ) -> None:
        job = new_job(parameters={"tenant": "acme", "batch": 50})
        nested = {"tenant": "acme", "batch": 1, "filter": {"since": "2026-01-01", "ids": [1, 2]}}
        overridden = new_run(job, parameters=nested, overrides=["filter", "batch"])
        plain = new_run(job, parameters={"tenant": "acme", "batch": 50})
        views.feed(job, overridden, plain)
        overridden.start("w-1")  # later events patch other columns, never these
        overridden.succeed()
        views.feed(overridden)
        got = views.runs.view.get_run(overridden.id)
        assert got is not None
        assert (got["parameters"], got["overrides"]) == (nested, ["batch", "filter"])
        listed = {
            r["id"]: (r["parameters"], r["overrides"]) for r in views.runs.view.list_runs()[0]
        }
        assert listed[plain.id] == ({"tenant": "acme", "batch": 50}, [])

    def test_a_run_names_the_retry_that_followed_it(self, views: Views) -> None:
        job = new_job()
        first, unrelated = new_run(job), new_run(job)
        views.feed(job, first, unrelated)
        assert views.runs.view.next_attempt(first.id) is None
        first.start("w-1")
        first.fail(1, "boom")
        second = new_run(
            job,
            trigger="retry",
            attempt=2,
            retry_of=first.id,
            run_id=runs.retry_run_id(first.id, 2),
        )
        views.feed(first, second)
        third = new_run(job, trigger="retry", attempt=3, retry_of=second.id)
        views.feed(third)
        got = views.runs.view.next_attempt(first.id)
        assert got is not None and (got["id"], got["attempt"]) == (second.id, 2)
        got = views.runs.view.next_attempt(second.id)
        assert got is not None and got["id"] == third.id
        assert views.runs.view.next_attempt(third.id) is None
        assert views.runs.view.next_attempt(unrelated.id) is None

    def test_a_rerun_names_the_run_it_repeats_also_in_a_table_made_before(
        self, views: Views
    ) -> None:
        job = new_job()
        first = new_run(job, parameters={"a": 1})
        views.feed(job, first)
        self.drop_column(views, "view_runs", "rerun_of")
        views.runs.view.create_table()  # what every start does
        got = views.runs.view.get_run(first.id)
        assert got is not None and got["rerun_of"] is None
        again = new_run(job, trigger="rerun", parameters={"a": 1}, rerun_of=first.id)
        views.feed(again)
        got = views.runs.view.get_run(again.id)
        assert got is not None and (got["trigger"], got["rerun_of"]) == ("rerun", first.id)
        listed = views.runs.view.list_runs(job_id=job.id)[0]
        assert [r["rerun_of"] for r in listed] == [first.id, None]

    def test_a_runs_table_made_before_parameters_were_kept_gets_the_columns(
        self, views: Views
    ) -> None:
        job = new_job()
        old = new_run(job, parameters={"a": 1})
        views.feed(job, old)
        self.drop_parameter_columns(views)
        views.runs.view.create_table()  # what every start does
        got = views.runs.view.get_run(old.id)
        assert got is not None and (got["parameters"], got["overrides"]) == (None, [])
        new = new_run(job, parameters={"a": 2}, overrides=["a"])
        views.feed(new)
        got = views.runs.view.get_run(new.id)
        assert got is not None and (got["parameters"], got["overrides"]) == ({"a": 2}, ["a"])

    def drop_parameter_columns(self, views: Views) -> None:
        raise NotImplementedError

    # --- logs ---------------------------------------------------------------------------

    def test_logs_min_level_and_after_pagination(self, views: Views) -> None:
        run_id, other_id = uuid4(), uuid4()
        log, other = open_log(run_id, "Debug"), open_log(other_id, "Verbose")
        t0 = datetime(2025, 1, 31, 2, 0, 0, 123456, tzinfo=UTC)
        levels = [LogLevel.Info, LogLevel.Warning, LogLevel.Verbose, LogLevel.Error] * 5
        made = [(t0 + timedelta(seconds=i), level, f"line {i}") for i, level in enumerate(levels)]
        # Only entries at or above the threshold reach a log (the worker's sink filters).
        log.record([m for m in made[:9] if m[1] >= LogLevel.Debug])
        other.record([(t0, LogLevel.Error, "elsewhere")])
        views.feed(log, other)
        log.record([m for m in made[9:] if m[1] >= LogLevel.Debug])
        views.feed(log)

        kept = [m for m in made if m[1] >= LogLevel.Debug]
        entries, next_after = views.logs.view.entries(run_id)
        assert next_after is None
        assert [(e["seq"], e["at"], e["level"], e["message"]) for e in entries] == [
            (seq, at, level.name, message) for seq, (at, level, message) in enumerate(kept, 1)
        ]

        warnings, _ = views.logs.view.entries(run_id, min_level="Warning")
        assert [e["level"] for e in warnings] == ["Warning", "Error"] * 5

        def pages(**kwargs: Any) -> list[list[int]]:
            result: list[list[int]] = []
            after: int | None = 0
            while after is not None:
                page, after = views.logs.view.entries(run_id, after=after, limit=4, **kwargs)
                result.append([e["seq"] for e in page])
            return result

        assert sum(pages(), []) == list(range(1, len(kept) + 1))
        assert [len(p) for p in pages()] == [4, 4, 4, 3]
        assert sum(pages(min_level=LogLevel.Error), []) == [
            e["seq"] for e in entries if e["level"] == "Error"
        ]
        assert views.logs.view.entries(run_id, after=len(kept)) == ([], None)
        assert views.logs.view.entries(other_id)[0][0]["message"] == "elsewhere"
        assert views.logs.view.entries(uuid4()) == ([], None)
        # The running total counts what was kept, across runs and batches.
        assert views.logs.view.count_entries() == len(kept) + 1

    # --- audit --------------------------------------------------------------------------

    def test_audit_history_and_entries(self, views: Views) -> None:
        job, other = new_job("first"), new_job("other")
        views.feed(job, other)
        job.change_description("described", "bob")
        views.feed(job)  # the job's name comes from its earlier audit row
        job.rename("second", "carol")
        job.change_log_level("Error", "carol")
        views.feed(job)
        other.disable("bob")
        job.delete("dave")
        views.feed(other, job)

        history = views.audit.view.history(job.id)
        assert [(h["version"], h["event"], h["job_name"], h["actor"]) for h in history] == [
            (1, "Registered", "first", "alice"),
            (2, "DescriptionChanged", "first", "bob"),
            (3, "Renamed", "second", "carol"),
            (4, "LogLevelChanged", "second", "carol"),
            (5, "Deleted", "second", "dave"),
        ]
        assert history[0]["changes"]["name"] == {"from": None, "to": "first"}
        assert history[1]["changes"] == {"description": {"from": "", "to": "described"}}
        assert history[2]["changes"] == {"name": {"from": "first", "to": "second"}}
        assert history[3]["changes"] == {"log_level": {"from": "Info", "to": "Error"}}
        assert history[4]["changes"] == {"deleted": {"from": False, "to": True}}
        assert all(h["job_id"] == job.id for h in history)
        assert [h["at"] for h in history] == sorted(h["at"] for h in history)

        def keys(**filters: Any) -> list[tuple[UUID, int]]:
            found = page_all(views.audit.view.entries, 2, **filters)
            return [(e["job_id"], e["version"]) for e in found]

        everything = sorted(
            history + views.audit.view.history(other.id),
            key=lambda e: (e["at"], str(e["job_id"]), e["version"]),
            reverse=True,
        )
        assert keys() == [(e["job_id"], e["version"]) for e in everything]
        assert keys(job_id=job.id) == [(job.id, v) for v in (5, 4, 3, 2, 1)]
        assert keys(actor="bob") == [(other.id, 2), (job.id, 2)]
        since, until = history[2]["at"], history[4]["at"]
        assert keys(since=since, until=until) == [
            (e["job_id"], e["version"]) for e in everything if since <= e["at"] < until
        ]
        assert (job.id, 3) in keys(since=since, until=until)
        assert views.audit.view.history(uuid4()) == []
        with pytest.raises(InvalidInput):
            views.audit.view.entries(cursor="garbage")

    def test_audit_has_who_ran_what_and_who_got_access_filtered_alike(self, views: Views) -> None:
        job, other = new_job("first"), new_job("other")
        views.feed(job, other)
        manual = new_run(job, requested_by="token:bob", parameters={"tenant": "globex"})
        fired = datetime(2026, 1, 1, 2, tzinfo=UTC)
        scheduled = new_run(job, trigger="schedule", scheduled_for=fired, requested_by="system")
        elsewhere = new_run(other, requested_by="token:carol")
        views.feed(manual, scheduled, elsewhere)
        manual.request_cancel("token:carol")
        job.rename("renamed", "bob")  # a job row after run rows: named from its own stream
        made = access_log.token_created(
            token_id="t-1", token_name="ci", role="viewer", actor="cli:alice"
        )
        failed = access_log.sign_in_failed(client="203.0.113.9")
        signed = access_log.signed_in(
            token_id="t-1", token_name="ci", actor="token:ci", client="::1"
        )
        views.feed(manual, made, job, failed, signed)
        view = views.audit.view

        def keys(**filters: Any) -> list[tuple[str, UUID | None]]:
            found = page_all(view.entries, 2, **filters)
            return [(e["action"], e["job_id"]) for e in found]

        everything = page_all(view.entries, 3)
        assert [(e["at"], e["stream_id"], e["version"]) for e in everything] == sorted(
            ((e["at"], e["stream_id"], e["version"]) for e in everything), reverse=True
        )
        assert sorted(e["action"] for e in everything) == sorted(
            ["job.created", "job.created", "run.requested", "run.requested", "run.cancelled"]
            + ["job.changed", "token.created", "sign_in.failed", "sign_in.succeeded"]
        )
        assert keys(job_id=job.id) == [
            ("job.changed", job.id),
            ("run.cancelled", job.id),
            ("run.requested", job.id),
            ("job.created", job.id),
        ]
        assert keys(actions=["run.requested", "run.cancelled"]) == [
            ("run.cancelled", job.id),
            ("run.requested", other.id),
            ("run.requested", job.id),
        ]
        assert keys(actions=["run.requested"], actor="token:carol") == [("run.requested", other.id)]
        assert keys(actor="unknown") == [("sign_in.failed", None)]
        by_action = {e["action"]: e for e in everything}
        requested = next(e for e in everything if e["stream_id"] == manual.id and e["version"] == 1)
        assert requested["details"] == {
            "run_id": str(manual.id),
            "parameters": {"tenant": "globex"},
        }
        assert requested["job_name"] == "first" and requested["changes"] == {}
        assert by_action["run.cancelled"]["actor"] == "token:carol"
        assert by_action["token.created"]["details"] == {
            "token_id": "t-1",
            "token_name": "ci",
            "role": "viewer",
        }
        assert by_action["sign_in.failed"]["details"] == {
            "token_name": "unknown",
            "client": "203.0.113.9",
        }
        assert by_action["sign_in.succeeded"]["job_id"] is None
        assert by_action["job.changed"]["job_name"] == "renamed"
        since = by_action["token.created"]["at"]
        assert keys(since=since, until=by_action["sign_in.succeeded"]["at"]) == [
            ("sign_in.failed", None),
            ("token.created", None),  # the rename came before it
        ]
        # A job's history is its own changes only, as before.
        assert [h["action"] for h in view.history(job.id)] == ["job.created", "job.changed"]

    def test_an_audit_table_from_before_actions_is_upgraded_in_place(self, views: Views) -> None:
        job = new_job("first")
        views.feed(job)
        job.rename("second", "bob")
        job.delete("carol")
        views.feed(job)
        view = views.audit.view
        before = dump([view.history(job.id), view.entries()])
        self.downgrade_audit_table(views)
        view.create_table()  # what every start does
        view.create_table()  # and the next one: nothing more to do
        assert dump([view.history(job.id), view.entries()]) == before
        assert [e["action"] for e in view.history(job.id)] == [
            "job.created",
            "job.changed",
            "job.deleted",
        ]
        old_cursor = encode_cursor(view.history(job.id)[-1]["at"].isoformat(), str(job.id), 3)
        assert [e["version"] for e in view.entries(cursor=old_cursor)[0]] == [2, 1]
        views.feed(access_log.sign_in_failed(client="::1"), new_run(job))
        assert keys_of(view.entries(actions=["sign_in.failed", "run.requested"])[0]) == [
            "run.requested",
            "sign_in.failed",
        ]

    def downgrade_audit_table(self, views: Views) -> None:
        """Put view_audit back as it was before actions: job rows keyed by (job id,
        version), with its old indexes."""
        raise NotImplementedError

    # --- exactly once, rebuild ----------------------------------------------------------

    def test_a_position_already_recorded_is_refused_and_writes_nothing(self, views: Views) -> None:
        job = new_job()
        run = new_run(job)
        views.feed(job, run)
        position = views.position

        late_job, late_run = new_job("late"), new_run(job)
        log = open_log(late_run.id, "Info")
        log.record([(datetime.now(UTC), LogLevel.Error, "never")])
        run.start("w")
        events = [e for a in (late_job, late_run, log, run) for e in a.collect_events()]
        for stale in (position, position - 1):
            for projection in views.projections:
                with pytest.raises(IntegrityError):
                    projection.process_batch(events, Tracking(projection.name, stale))
                assert projection.view.max_tracking_id(projection.name) == position

        assert views.jobs.view.get_job(late_job.id) is None
        assert views.jobs.view.get_job(job.id)["last_run_status"] == "queued"  # type: ignore[index]
        assert views.runs.view.get_run(late_run.id) is None
        assert views.runs.view.get_run(run.id)["status"] == "queued"  # type: ignore[index]
        assert views.logs.view.entries(late_run.id) == ([], None)
        assert views.audit.view.history(late_job.id) == []

        views.apply(events, position + 1)  # the next position goes through
        assert views.runs.view.get_run(run.id)["status"] == "running"  # type: ignore[index]

    def test_a_batch_from_a_position_other_than_the_views_is_refused(self, views: Views) -> None:
        """The follower's compare-and-set tracking: an overlapping batch (starting from an
        older position, however far it reaches) is refused whole."""
        job = new_job()
        run = new_run(job)
        for projection in views.projections:
            tracking = BatchTracking(projection.name, 10, previous=0)
            projection.process_batch([], tracking)
        late_job = new_job("late")
        log = open_log(run.id, "Info")
        log.record([(datetime.now(UTC), LogLevel.Error, "never")])
        events = [e for a in (job, run, late_job, log) for e in a.collect_events()]
        for projection in views.projections:
            for previous in (0, 5):
                stale = BatchTracking(projection.name, 99, previous=previous)
                with pytest.raises(IntegrityError):
                    projection.process_batch(events, stale)
            assert projection.view.max_tracking_id(projection.name) == 10
        assert views.jobs.view.list_jobs() == ([], None)
        assert views.runs.view.list_runs() == ([], None)
        assert views.logs.view.entries(run.id) == ([], None)
        assert views.audit.view.entries() == ([], None)

        for projection in views.projections:  # from the view's own position: accepted
            projection.process_batch(events, BatchTracking(projection.name, 20, previous=10))
        assert views.runs.view.get_run(run.id) is not None
        assert len(views.jobs.view.list_jobs()[0]) == 2
        assert len(views.logs.view.entries(run.id)[0]) == 1

    def test_an_empty_batch_moves_the_position(self, views: Views) -> None:
        views.apply([], 41)
        for projection in views.projections:
            assert projection.view.max_tracking_id(projection.name) == 41

    def test_drop_then_create_then_reapply_gives_the_same_results(self, views: Views) -> None:
        job, other = new_job("one"), new_job("two")
        job.store_secret("S", CIPHERTEXT, "alice")
        views.feed(job, other)
        made = [new_run(job), new_run(other), new_run(job)]
        made[0].start("w")
        views.feed(*made)
        made[0].succeed()
        made[1].skip("overlap")
        log = open_log(made[0].id, "Info")
        log.record([(datetime.now(UTC), LogLevel.Info, f"m{i}") for i in range(5)])
        job.rename("one-renamed", "bob")
        other.delete("bob")
        views.feed(*made, log, job, other)

        def snapshot() -> str:
            return dump(
                [
                    views.jobs.view.list_jobs(),
                    [views.jobs.view.get_job(j.id) for j in (job, other)],
                    views.runs.view.list_runs(limit=2),
                    views.runs.view.list_runs(),
                    views.runs.view.count_by_status(),
                    views.runs.view.running_runs(),
                    [views.logs.view.entries(r.id) for r in made],
                    views.logs.view.count_entries(),
                    [views.audit.view.history(j.id) for j in (job, other)],
                    views.audit.view.entries(),
                ]
            )

        before = snapshot()
        for projection in views.projections:
            projection.view.drop()
            assert projection.view.max_tracking_id(projection.name) is None
            projection.view.create_table()
        assert views.jobs.view.list_jobs() == ([], None)
        assert views.runs.view.list_runs() == ([], None)
        for events, position in views.batches:
            views.apply(events, position)
        assert snapshot() == before


class TestSQLiteViews(ViewsContract):
    """The views in a SQLite file."""

    @pytest.fixture
    def views(self, tmp_path: Path) -> Iterator[Views]:
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(tmp_path / "views.sqlite3"),
        }
        classes = (SQLiteJobsView, SQLiteRunsView, SQLiteLogsView, SQLiteAuditView)
        views, factories = make_views(env, classes)
        yield views
        for factory in factories:
            factory.close()

    def drop_column(self, views: Views, table: str, column: str) -> None:
        with views.runs.view.datastore.transaction(commit=True) as cursor:
            cursor.execute(f"ALTER TABLE {table} DROP COLUMN {column}")

    def drop_parameter_columns(self, views: Views) -> None:
        with views.runs.view.datastore.transaction(commit=True) as cursor:
            cursor.execute("DROP INDEX view_runs_retry_of_idx")
            cursor.execute("ALTER TABLE view_runs DROP COLUMN parameters")
            cursor.execute("ALTER TABLE view_runs DROP COLUMN overrides")

    def downgrade_audit_table(self, views: Views) -> None:
        with views.audit.view.datastore.transaction(commit=True) as cursor:
            cursor.execute("ALTER TABLE view_audit RENAME TO view_audit_new")
            cursor.execute(
                "CREATE TABLE view_audit (job_id TEXT NOT NULL, version INTEGER NOT NULL,"
                " job_name TEXT, event TEXT NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL,"
                " changes TEXT NOT NULL, PRIMARY KEY (job_id, version))"
            )
            cursor.execute(
                "CREATE INDEX view_audit_time_idx"
                " ON view_audit (at DESC, job_id DESC, version DESC)"
            )
            cursor.execute(f"INSERT INTO view_audit SELECT {OLD_AUDIT_COLUMNS} FROM view_audit_new")
            cursor.execute("DROP TABLE view_audit_new")

    def drop_search_column(self, views: Views) -> None:
        with views.jobs.view.datastore.transaction(commit=True) as cursor:
            cursor.execute("ALTER TABLE view_jobs DROP COLUMN search")

    def drop_folder_and_tags(self, views: Views) -> None:
        with views.jobs.view.datastore.transaction(commit=True) as cursor:
            cursor.execute("DROP INDEX view_jobs_folder_idx")
            cursor.execute("ALTER TABLE view_jobs DROP COLUMN folder")
            cursor.execute("ALTER TABLE view_jobs DROP COLUMN tags")


@pytest.mark.postgres
class TestPostgresViews(ViewsContract):
    """The views in PostgreSQL, each test in a schema of its own."""

    @pytest.fixture
    def views(self) -> Iterator[Views]:
        if not DATABASE_URL:
            pytest.skip("set JOBLEDGER_TEST_DATABASE_URL to run the PostgreSQL contract tests")
        params = conninfo_to_dict(DATABASE_URL)
        schema = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": str(params.get("dbname", "")),
            "POSTGRES_HOST": str(params.get("host", "127.0.0.1")),
            "POSTGRES_PORT": str(params.get("port", "5432")),
            "POSTGRES_USER": str(params.get("user", "postgres")),
            "POSTGRES_PASSWORD": str(params.get("password", "")),
            "POSTGRES_SCHEMA": schema,
            "POSTGRES_POOL_SIZE": "1",
            "POSTGRES_MAX_OVERFLOW": "1",
        }
        classes = (PostgresJobsView, PostgresRunsView, PostgresLogsView, PostgresAuditView)
        try:
            views, factories = make_views(env, classes)
            try:
                yield views
            finally:
                for factory in factories:
                    factory.close()
        finally:
            with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))

    def drop_column(self, views: Views, table: str, column: str) -> None:
        view = views.runs.view
        with view.datastore.transaction(commit=True) as cursor:
            cursor.execute(view.compose(f"ALTER TABLE {{s}}.{table} DROP COLUMN {column}"))

    def drop_parameter_columns(self, views: Views) -> None:
        view = views.runs.view
        with view.datastore.transaction(commit=True) as cursor:
            cursor.execute(view.compose("DROP INDEX {s}.view_runs_retry_of_idx"))
            for column in ("parameters", "overrides"):
                cursor.execute(view.compose(f"ALTER TABLE {{s}}.view_runs DROP COLUMN {column}"))

    def downgrade_audit_table(self, views: Views) -> None:
        view = views.audit.view
        statements = (
            "ALTER TABLE {s}.view_audit RENAME TO view_audit_new",
            "ALTER TABLE {s}.view_audit_new RENAME CONSTRAINT view_audit_pkey TO new_pkey",
            "ALTER INDEX {s}.view_audit_at_idx RENAME TO new_at_idx",
            "CREATE TABLE {s}.view_audit (job_id uuid NOT NULL, version integer NOT NULL,"
            " job_name text, event text NOT NULL, at timestamptz NOT NULL, actor text NOT NULL,"
            " changes jsonb NOT NULL, PRIMARY KEY (job_id, version))",
            "CREATE INDEX view_audit_time_idx"
            " ON {s}.view_audit (at DESC, job_id DESC, version DESC)",
            f"INSERT INTO {{s}}.view_audit SELECT {OLD_AUDIT_COLUMNS} FROM {{s}}.view_audit_new",
            "DROP TABLE {s}.view_audit_new",
        )
        with view.datastore.transaction(commit=True) as cursor:
            for statement in statements:
                cursor.execute(view.compose(statement))

    def drop_search_column(self, views: Views) -> None:
        view = views.jobs.view
        with view.datastore.transaction(commit=True) as cursor:
            cursor.execute(view.compose("ALTER TABLE {s}.view_jobs DROP COLUMN search"))

    def drop_folder_and_tags(self, views: Views) -> None:
        view = views.jobs.view
        with view.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                view.compose("ALTER TABLE {s}.view_jobs DROP COLUMN folder, DROP COLUMN tags")
            )

    def test_tag_and_folder_filters_can_use_their_indexes(self, views: Views) -> None:
        schema = views.jobs.view.datastore.schema
        table = sql.Identifier(schema, "view_jobs")
        with psycopg.connect(DATABASE_URL or "", autocommit=True) as conn:
            conn.execute("SET enable_seqscan = off")  # a handful of rows: forbid the scan
            tag_plan = conn.execute(
                sql.SQL("""EXPLAIN SELECT id FROM {} WHERE tags @> '["billing"]'""").format(table)
            ).fetchall()
            folder_plan = conn.execute(
                sql.SQL(
                    "EXPLAIN SELECT id FROM {} WHERE folder = 'A'"
                    " OR (folder >= 'A/' AND folder < 'A0')"
                ).format(table)
            ).fetchall()
        assert "view_jobs_tags_idx" in " ".join(row[0] for row in tag_plan)
        assert "view_jobs_folder_idx" in " ".join(row[0] for row in folder_plan)

    def test_job_search_has_a_trigram_index_and_works_without_one(
        self, views: Views, caplog: pytest.LogCaptureFixture
    ) -> None:
        view = views.jobs.view
        schema = view.datastore.schema
        with psycopg.connect(DATABASE_URL or "", autocommit=True) as conn:
            # On a handful of rows a scan is cheaper: forbid it to see the index can serve.
            conn.execute("SET enable_seqscan = off")
            plan = conn.execute(
                sql.SQL("EXPLAIN SELECT id FROM {} WHERE search LIKE '%invoice%'").format(
                    sql.Identifier(schema, "view_jobs")
                )
            ).fetchall()
        assert "view_jobs_search_idx" in " ".join(row[0] for row in plan)
        # Where pg_trgm cannot be had (here: a schema that does not exist) the search still
        # works, as a scan, and a warning says so.
        with caplog.at_level("WARNING", logger="jobledger.views"):
            assert create_search_index(view.datastore, f"{schema}_missing") is False
        assert "without a trigram index" in caplog.text
        with view.datastore.transaction(commit=True) as cursor:
            cursor.execute(view.compose("DROP INDEX {s}.view_jobs_search_idx"))
        views.feed(new_job("Invoice sync"))
        assert [j["name"] for j in view.list_jobs(JobQuery(search="VOICE"))[0]] == ["Invoice sync"]
