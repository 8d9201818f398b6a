"""Benchmark 3: rebuilding every projection from a history of about 1,000,000 events.

Set-up (not measured): a history like a busy installation's. 2,000 jobs, each registered
and then changed three times (parameters, schedule, policies); then runs spread over the
jobs, each `Requested` (by the schedule), `Started` and `Succeeded` (one in twenty `Failed`),
and each with its log stream: `Opened` plus one `EntriesRecorded` event of 50 entries. So
five events per run, and a run's log entries outnumber its events ten to one: 2,000 jobs
(8,000 events) and 198,400 runs (992,000 events, 9,920,000 log entries) at scale 1.

How it is made fast enough (about 45 s per store, not 90-150 s): the jobs are real
aggregates, changed by the domain's commands. For each job, one run that succeeds and one
that fails are made by the domain's commands too (`request`, `start`, `succeed`/`fail`,
`open_log`, an `EntriesRecorded` event); every other run of the job is a copy of those
events with the run's own id (derived from its slot, as the scheduler derives it), its own
log id, its times moved to its slot (every five minutes, ending about now), its own worker
and one of 64 prepared 50-entry lists. The app's own mapper (transcoder) encodes every
event, so the rows are what `app.save` would write. They are inserted in bulk, 5,000 per
transaction:

- On SQLite, by `executemany` of the rows eventsourcing's recorder would insert, on a
  connection of its own with synchronous=OFF. That is twice as fast as the recorder.
- On PostgreSQL, by COPY. eventsourcing's insert was the bottleneck: about 4,000 events/s
  with these 5 KB log events on commit 31d7740. (Large saves once hung in psycopg's
  pipeline mode; fixed in the recorder, see README.md.)

Measured: `system.rebuild_projections()`: drop the four views (jobs, runs, logs, audit),
recreate them and replay the whole notification log into them. Figure: events/s.

Baseline: the raw driver reading every stored event in notification order (pages of
`SELECT ... WHERE notification_id > %s ORDER BY notification_id LIMIT 2000`, as the
follower pages; binary results on PostgreSQL) and decoding each event's state with
orjson: what any replay must do at least, before it writes anything.
"""

from __future__ import annotations

import contextlib
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson
from psycopg import sql

from bench.common import (
    BenchStore,
    Result,
    build_system,
    count_events,
    events_table,
    progress,
    rate,
    scaled,
)

N_EVENTS = 1_000_000
N_JOBS = 2_000
ENTRIES_PER_LOG_EVENT = 50
EVENTS_PER_RUN = 5  # Requested, Started, Succeeded/Failed, log Opened, EntriesRecorded
JOB_EVENTS = 4  # Registered + 3 changes
RUNS_PER_SAVE = 1_000  # 2,000 aggregates, 5,000 events (~6 MB) per save
GOAL = 50_000.0
PAGE = 2_000

_CRONS = ["*/5 * * * *", "0 * * * *", "15 2 * * *", "0 9 * * 1-5", "*/15 8-18 * * *"]


def _entry_lists(count: int = 64) -> list[list[list[Any]]]:
    """Lists of 50 stored entries ([seq, time, level, message]) as RunLog.record makes them."""
    from bench.log_entries import make_entries
    from domain.run_log import format_time

    rng = random.Random(11)
    pool = make_entries(count * ENTRIES_PER_LOG_EVENT)
    lists = []
    for k in range(count):
        chunk = pool[k * ENTRIES_PER_LOG_EVENT : (k + 1) * ENTRIES_PER_LOG_EVENT]
        lists.append(
            [
                [seq, format_time(at), int(level), msg]
                for seq, (at, level, msg) in enumerate(chunk, start=1)
            ]
        )
    rng.shuffle(lists)
    return lists


def make_jobs(n_jobs: int) -> list[Any]:
    from application.job_commands import parse_schedule
    from domain import job as job_model
    from domain.schedule import CronSchedule

    jobs = []
    for i in range(n_jobs):
        job = job_model.register(
            name=f"nightly-export-{i:05d}",
            job_type="command",
            program={"argv": ["/usr/local/bin/export", "--shard", str(i % 64)]},
            actor="admin@example.com",
            description="Export one shard of the warehouse to object storage",
            parameters={"region": "eu-west-1", "retention_days": 30, "shard": i % 64},
            schedule=parse_schedule({"cron": _CRONS[i % len(_CRONS)]}),
            log_level="Info",
        )
        job.change_parameters(
            {"region": "eu-west-1", "retention_days": 14, "shard": i % 64}, "ops@example.com"
        )
        job.schedule_with(CronSchedule.parse("*/5 * * * *", "Europe/London"), "ops@example.com")
        job.change_policies({"timeout_seconds": 3_600, "max_retries": 2}, "ops@example.com")
        jobs.append(job)
    return jobs


class Saver:
    """Stores events as `app.save` would, encoded by the app's own mapper, in bulk: COPY on
    PostgreSQL; on SQLite, `executemany` of the rows eventsourcing's SQLite recorder would
    insert (the id as 32 hex digits), 5,000 per transaction, with `synchronous=OFF` on this
    set-up connection only (twice as fast as the recorder; the data is the same)."""

    def __init__(self, bench: BenchStore, app: Any) -> None:
        self.app = app
        self.table = events_table(app)
        self.pg = bench.pg_connect() if bench.kind == "postgres" else None
        self.lite = bench.sqlite_connect() if bench.kind == "sqlite" else None
        if self.lite is not None:
            self.lite.execute("PRAGMA synchronous=OFF")
        self.copy_sql = sql.SQL(
            "COPY {} (originator_id, originator_version, topic, state) FROM STDIN (FORMAT BINARY)"
        ).format(sql.Identifier(self.table))

    def save_events(self, events: list[Any]) -> None:
        stored = [self.app.mapper.to_stored_event(e) for e in events]
        self.save([(s.originator_id, s.originator_version, s.topic, s.state) for s in stored])

    def save(self, rows: list[tuple[UUID, int, str, bytes]]) -> None:
        """Rows: (originator id, originator version, topic, state), in notification order."""
        if self.lite is not None:
            self.lite.execute("BEGIN")
            self.lite.executemany(
                f"INSERT INTO {self.table} (originator_id, originator_version, topic, state)"
                " VALUES (?, ?, ?, ?)",
                [(i.hex, v, t, s) for i, v, t, s in rows],
            )
            self.lite.execute("COMMIT")
            return
        assert self.pg is not None
        with self.pg.cursor() as cursor, cursor.copy(self.copy_sql) as copy:
            copy.set_types(["uuid", "int8", "text", "bytea"])
            write = copy.write_row
            for row in rows:
                write(row)
        self.pg.commit()

    def close(self) -> None:
        if self.pg is not None:
            self.pg.close()
        if self.lite is not None:
            self.lite.close()


def generate(bench: BenchStore, app: Any, n_events: int, n_jobs: int) -> dict[str, int]:
    """Store a history of about `n_events` events (see the module's docstring)."""
    saver = Saver(bench, app)
    try:
        return _generate(saver, n_events, n_jobs)
    finally:
        saver.close()


class RunTemplate:
    """The events of one real run of a job (and of its log), made by the domain's commands,
    to stamp out more runs of that job: the same events with the run's own ids and times.

    Stamping works on each event's state as the app's mapper would store it (the event's
    attributes but its id and version), then encodes it with the app's own transcoder, so
    a stamped row is byte for byte what `app.save` would write for that run.
    """

    def __init__(self, job: Any, mapper: Any, *, failed: bool, at: datetime) -> None:
        from eventsourcing.utils import get_topic

        from domain import run as run_model
        from domain.run_log import RunLog, open_log

        run = run_model.request(
            job_id=job.id,
            job_version=job.version,
            job_name=job.name,
            job_type=job.job_type,
            trigger="schedule",
            requested_by="scheduler",
            parameters=job.parameters,
            log_level=job.log_level,
            timeout_seconds=job.timeout_seconds,
            scheduled_for=at,
        )
        run.start("worker-1")
        if failed:
            run.fail(1, "export failed: connection reset by peer")
        else:
            run.succeed(0)
        log = open_log(run.id, job.log_level)
        log.trigger_event(RunLog.EntriesRecorded, entries=[[1, "", 30, ""]])
        self.job_id, self.at, self.mapper = job.id, at, mapper
        # Per event: (is it the run's, version, topic, state, keys of ids, keys of times).
        self.rows: list[tuple[bool, int, str, dict[str, Any], list[str], list[str]]] = []
        ids = {run.id, log.id}
        for event in [*run.collect_events(), *log.collect_events()]:
            state = dict(vars(event))
            originator_id = state.pop("originator_id")
            version = state.pop("originator_version")
            class_version = getattr(type(event), "class_version", 1)
            if class_version > 1:
                state["class_version"] = class_version
            id_keys = [k for k, v in state.items() if isinstance(v, UUID) and v in ids]
            time_keys = [k for k, v in state.items() if isinstance(v, datetime)]
            self.rows.append(
                (
                    originator_id == run.id,
                    version,
                    get_topic(type(event)),
                    state,
                    id_keys,
                    time_keys,
                )
            )
        self.run_id = run.id

    def stamp(
        self, slot: datetime, worker: str, entries: list[Any]
    ) -> list[tuple[UUID, int, str, bytes]]:
        """This run's stored events as if it was scheduled for `slot` (times moved with it)."""
        from domain.run import scheduled_run_id
        from domain.run_log import run_log_id

        run_id = scheduled_run_id(self.job_id, slot)
        log_id = run_log_id(run_id)
        shift = slot - self.at
        encode = self.mapper.transcoder.encode
        compressor, cipher = self.mapper.compressor, self.mapper.cipher
        out = []
        for is_run, version, topic, template, id_keys, time_keys in self.rows:
            state = dict(template)
            for key in id_keys:
                state[key] = run_id if template[key] == self.run_id else log_id
            for key in time_keys:
                state[key] = template[key] + shift
            if "entries" in state:
                state["entries"] = entries
            if "worker" in state:
                state["worker"] = worker
            data = encode(state)
            if compressor:
                data = compressor.compress(data)
            if cipher:
                data = cipher.encrypt(data)
            out.append((run_id if is_run else log_id, version, topic, data))
        return out


def _generate(saver: Saver, n_events: int, n_jobs: int) -> dict[str, int]:
    jobs = make_jobs(n_jobs)
    for start in range(0, len(jobs), 500):
        saver.save_events([e for job in jobs[start : start + 500] for e in job.collect_events()])
    n_runs = max(1, (n_events - n_jobs * JOB_EVENTS) // EVENTS_PER_RUN)
    progress(f"  {n_jobs:,} jobs saved; now {n_runs:,} runs with their logs")
    entry_lists = _entry_lists()
    # Every job runs every five minutes; the last slots are about now.
    rounds = -(-n_runs // n_jobs)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    base = now - timedelta(minutes=5 * rounds)
    mapper = saver.app.mapper
    templates: dict[tuple[int, bool], RunTemplate] = {}
    pending: list[Any] = []
    for r in range(n_runs):
        j, failed = r % n_jobs, r % 20 == 19
        template = templates.get((j, failed))
        if template is None:
            template = RunTemplate(jobs[j], mapper, failed=failed, at=now)
            templates[(j, failed)] = template
        slot = base + timedelta(minutes=5 * (r // n_jobs))
        pending += template.stamp(slot, f"worker-{r % 8}", entry_lists[r % len(entry_lists)])
        if len(pending) >= EVENTS_PER_RUN * RUNS_PER_SAVE:
            saver.save(pending)
            pending = []
            if (r + 1) % 50_000 == 0:
                progress(f"  saved {r + 1:,}/{n_runs:,} runs")
    if pending:
        saver.save(pending)
    return {
        "jobs": n_jobs,
        "runs": n_runs,
        "log_entries": n_runs * ENTRIES_PER_LOG_EVENT,
    }


def run_baseline(bench: BenchStore, app: Any) -> tuple[float, int]:
    """Read every event in notification order, in pages, and orjson-decode its state."""
    table = events_table(app)
    loads = orjson.loads
    count = 0
    if bench.kind == "postgres":
        query = sql.SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {}"
            " WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(sql.Identifier(table))
        with bench.pg_connect(autocommit=True) as conn, conn.cursor(binary=True) as cursor:
            started = time.perf_counter()
            last = 0
            while True:
                rows = cursor.execute(query, (last, PAGE), prepare=True).fetchall()
                if not rows:
                    break
                for row in rows:
                    loads(row[4])
                count += len(rows)
                last = rows[-1][0]
            return time.perf_counter() - started, count

    query_text = (
        f"SELECT rowid, originator_id, originator_version, topic, state FROM {table}"
        " WHERE rowid > ? ORDER BY rowid LIMIT ?"
    )
    with contextlib.closing(bench.sqlite_connect()) as lite:
        started = time.perf_counter()
        last = 0
        while True:
            rows = lite.execute(query_text, (last, PAGE)).fetchall()
            if not rows:
                break
            for row in rows:
                loads(row[4])
            count += len(rows)
            last = rows[-1][0]
        return time.perf_counter() - started, count


def run(bench: BenchStore, scale: float) -> list[Result]:
    n_target = scaled(N_EVENTS, scale, minimum=100)
    n_jobs = scaled(N_JOBS, scale, minimum=10)
    system = build_system(bench)
    try:
        app = system.app
        progress(f"rebuild [{bench.kind}]: generating ~{n_target:,} events (set-up, not timed)")
        started = time.perf_counter()
        counts = generate(bench, app, n_target, n_jobs)
        setup_seconds = time.perf_counter() - started
        n_events = count_events(bench, app)
        progress(
            f"rebuild [{bench.kind}]: {n_events:,} events stored in {setup_seconds:.1f}s "
            f"({rate(n_events, setup_seconds):,.0f} events/s); "
            f"{counts['log_entries']:,} log entries"
        )

        progress(f"rebuild [{bench.kind}]: system.rebuild_projections()")
        timers = instrument(system)
        started = time.perf_counter()
        read = system.rebuild_projections()
        seconds = time.perf_counter() - started
        breakdown = {name: round(t, 2) for name, t in timers.items()}
        breakdown["decode, fold and the rest"] = round(seconds - sum(timers.values()), 2)
        progress(f"rebuild [{bench.kind}]: seconds by part: {breakdown}")
        progress(
            f"rebuild [{bench.kind}]: {read:,} notifications replayed in {seconds:.1f}s: "
            f"{rate(read, seconds):,.0f} events/s"
        )
        if read != n_events:
            raise AssertionError(f"replayed {read:,} notifications of {n_events:,} events")
        check = check_views(system, counts)
        progress(f"rebuild [{bench.kind}]: views hold {check}")

        progress(f"rebuild [{bench.kind}]: baseline, raw read + orjson decode of every event")
        base_seconds, base_count = run_baseline(bench, app)
        progress(f"rebuild [{bench.kind}]: baseline {rate(base_count, base_seconds):,.0f} events/s")
        store_bytes = bench.size_bytes()
    finally:
        system.close()
    return [
        Result(
            benchmark="rebuild",
            store=bench.kind,
            n=n_events,
            unit="events/s",
            figure=rate(n_events, seconds),
            seconds=seconds,
            baseline=rate(base_count, base_seconds),
            baseline_seconds=base_seconds,
            baseline_label=(
                f"raw SELECT in pages of {PAGE:,} by notification id"
                + (" (binary results)" if bench.kind == "postgres" else "")
                + " + orjson.loads of each state"
            ),
            goal=GOAL,
            notes=(
                f"{counts['jobs']:,} jobs, {counts['runs']:,} runs, "
                f"{counts['log_entries']:,} log entries "
                f"({rate(counts['log_entries'], seconds):,.0f} entries/s into the logs view)"
            ),
            extra={
                **counts,
                "setup_seconds": setup_seconds,
                "view_rows": check,
                "store_bytes": store_bytes,
                "seconds_by_part": breakdown,
            },
        )
    ]


def instrument(system: Any) -> dict[str, float]:
    """Time spent reading notification pages and in each view's `process_batch` (fold + write).

    Wraps the bound methods on these instances only; what is left of the total is decoding
    (mapper.to_domain_event) and the follower's own bookkeeping.
    """
    timers: dict[str, float] = {}

    def timed(name: str, method: Any) -> Any:
        timers[name] = 0.0

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                timers[name] += time.perf_counter() - t0

        return wrapper

    recorder = system.follower.recorder
    recorder.select_notifications = timed("read pages", recorder.select_notifications)
    for projection in system.projections:
        projection.process_batch = timed(f"view {projection.name}", projection.process_batch)
    return timers


def check_views(system: Any, counts: dict[str, int]) -> dict[str, int]:
    """Row counts of the rebuilt views, straight from their tables; must match the history."""
    found: dict[str, int] = {}
    for name in ("jobs", "runs", "logs"):
        view = getattr(system, name)
        table = view.TABLES[0]
        with view.datastore.transaction(commit=False) as cursor:
            if hasattr(view, "compose"):
                cursor.execute(view.compose("SELECT COUNT(*) AS n FROM {s}.{t}", t=table))
                row = cursor.fetchone()
                found[name] = int(row["n"] if isinstance(row, dict) else row[0])
            else:
                cursor.execute(f"SELECT COUNT(*) FROM {table}")
                found[name] = int(cursor.fetchone()[0])
    expected = {"jobs": counts["jobs"], "runs": counts["runs"], "logs": counts["log_entries"]}
    if found != expected:
        raise AssertionError(f"views hold {found}, expected {expected}")
    return found
