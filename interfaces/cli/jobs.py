"""`jobledger jobs create|list|show|history|delete`."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

import orjson

from domain.job import Job
from interfaces.cli.context import actor, add_json_flag, job_id, opened
from interfaces.cli.output import print_fields, print_json, print_table
from interfaces.http.present import job_from_aggregate, job_from_view


def register(commands: Any) -> None:
    parser = commands.add_parser("jobs", help="create, list, show, replay and delete jobs")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = sub.add_parser(
        "create",
        help="register a new job",
        description="Register a job. Set its secrets afterwards with `jobledger secrets set`.",
    )
    create.add_argument("--name", required=True)
    create.add_argument(
        "--type",
        dest="job_type",
        required=True,
        help="job type: powershell, command, python or http",
    )
    create.add_argument(
        "--program",
        required=True,
        type=_json,
        help='the program as JSON, e.g. \'{"argv": ["echo", "hi"]}\'',
    )
    create.add_argument("--description", default="")
    create.add_argument("--parameters", type=_json, default=None, help="a JSON object")
    create.add_argument(
        "--parameters-schema",
        type=_json,
        default=None,
        help="a JSON Schema of the parameters (types, defaults, enums, required): Run now "
        "then shows a form, and every run's parameters are checked against it",
    )
    create.add_argument("--cron", help="CRON expression (5 fields, or 6 with seconds first)")
    create.add_argument("--timezone", default="UTC", help="IANA time zone of the schedule")
    create.add_argument(
        "--log-level", default="Info", help="Verbose, Debug, Info, Warning or Error (default Info)"
    )
    create.add_argument("--disabled", action="store_true", help="register it disabled")
    create.add_argument("--timeout", type=int, dest="timeout_seconds")
    create.add_argument("--overlap", choices=["skip", "allow", "queue"], default="skip")
    create.add_argument("--misfire", choices=["run_once", "skip", "run_all"], default="run_once")
    create.add_argument("--max-retries", type=int, default=0)
    create.add_argument(
        "--log-retention-days",
        type=int,
        metavar="DAYS",
        help="how long a finished run keeps its log; 0: until the next retention sweep "
        "(default JOBLEDGER_LOG_RETENTION_DAYS, 30)",
    )
    create.add_argument(
        "--run-retention-days",
        type=int,
        metavar="DAYS",
        help="how long a run is kept (default JOBLEDGER_RUN_RETENTION_DAYS, 400)",
    )
    create.add_argument(
        "--keep-last-runs", type=int, metavar="N", help="the last N runs keep their logs"
    )
    add_json_flag(create)
    create.set_defaults(handler=create_job)

    list_ = sub.add_parser("list", help="list jobs")
    list_.add_argument("--limit", type=int, default=100)
    add_json_flag(list_)
    list_.set_defaults(handler=list_jobs)

    show = sub.add_parser("show", help="show a job, now or as it was at a past time or version")
    show.add_argument("job_id", type=job_id)
    when = show.add_mutually_exclusive_group()
    when.add_argument(
        "--at",
        type=_time,
        help="RFC 3339 time, e.g. 2026-11-25T12:00:00Z (a whole second includes the changes "
        "made within it, as `jobs history` shows times to the second)",
    )
    when.add_argument("--version", type=int)
    add_json_flag(show)
    show.set_defaults(handler=show_job)

    history = sub.add_parser("history", help="every event of a job: when, who, what changed")
    history.add_argument("job_id", type=job_id)
    add_json_flag(history)
    history.set_defaults(handler=job_history)

    delete = sub.add_parser("delete", help="delete a job and destroy its secrets' key")
    delete.add_argument("job_id", type=job_id)
    delete.set_defaults(handler=delete_job)


def _json(value: str) -> Any:
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON: {error}") from None


def _time(value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an RFC 3339 time") from None
    if at.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} needs a time zone offset, e.g. Z")
    return at


def create_job(args: argparse.Namespace) -> int:
    schedule = {"cron": args.cron, "timezone": args.timezone} if args.cron else None
    with opened() as system:
        job = system.app.register_job(
            name=args.name,
            job_type=args.job_type,
            program=args.program,
            actor=actor(),
            description=args.description,
            parameters=args.parameters,
            parameters_schema=args.parameters_schema,
            schedule=schedule,
            log_level=args.log_level,
            enabled=not args.disabled,
            policies={
                "timeout_seconds": args.timeout_seconds,
                "overlap": args.overlap,
                "misfire": args.misfire,
                "max_retries": args.max_retries,
                "log_retention_days": args.log_retention_days,
                "run_retention_days": args.run_retention_days,
                "keep_last_runs": args.keep_last_runs,
            },
        )
    if args.json:
        print_json(job_state(job))
    else:
        print(job.id)
    return 0


def list_jobs(args: argparse.Namespace) -> int:
    with opened(catch_up=True) as system:
        items, _cursor = system.jobs.list_jobs(limit=args.limit)
    if args.json:
        print_json(items)
    else:
        rows = [
            {**item, "schedule": item.get("schedule_cron"), "last_run": item.get("last_run_status")}
            for item in items
        ]
        print_table(rows, ["id", "name", "job_type", "schedule", "enabled", "last_run"])
    return 0


def show_job(args: argparse.Namespace) -> int:
    """The job as the API shows it (`GET /api/jobs/{id}`): the schedule once, in words, and
    its next fire time; a past state has no next run."""
    with opened(catch_up=True) as system:
        if args.at is None and args.version is None:
            row = system.jobs.get_job(args.job_id)
            if row is None:
                system.app.get_job(args.job_id)  # raises NotFound, or deleted
            # None only if the view lacked a live job after catching up: never within one store.
            assert row is not None
            state = job_from_view(row, datetime.now(UTC))
        else:
            job = system.app.job_at(args.job_id, version=args.version, at=args.at)
            actor_of = {e.originator_version: e.actor for e in system.app.job_history(job.id)}
            state = job_from_aggregate(job, updated_by=actor_of.get(job.version, ""), now=None)
    if args.json:
        print_json(state)
    else:
        print_fields(state)
    return 0


def job_state(job: Job) -> dict[str, Any]:
    """A job replayed from its events, shaped like the jobs view (secret names only)."""
    return {
        **job.configuration(),
        "policies": job.policies,
        "secrets": job.secret_names(),
        "deleted": job.deleted,
        "as_of": job.modified_on,
    }


def job_history(args: argparse.Namespace) -> int:
    with opened() as system:
        events = system.app.job_history(args.job_id)
    rows = [
        {
            "version": e.originator_version,
            "event": type(e).__name__,
            "at": e.timestamp,
            "actor": e.actor,
            "changes": e.changes(),
        }
        for e in events
    ]
    if args.json:
        print_json(rows)
    else:
        print_table(rows, ["version", "at", "actor", "event", "changes"])
    return 0


def delete_job(args: argparse.Namespace) -> int:
    with opened() as system:
        system.app.delete_job(args.job_id, actor=actor())
    print(f"Deleted job {args.job_id}; its secrets can no longer be decrypted.")
    return 0
