"""`jobledger worker`: workers as a process of their own, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from interfaces.cli.context import add_json_flag, opened
from interfaces.cli.output import print_json, print_table
from interfaces.signals import stop_requested, wait_for
from interfaces.worker_runtime import (
    DEFAULT_CONCURRENCY,
    DEFAULT_GRACE_SECONDS,
    DEFAULT_LEASE_GRACE_SECONDS,
    DEFAULT_LEASE_SECONDS,
)


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return number


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number >= 0:  # also refuses "nan", which compares false with everything
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds (0 or more)")
    return number


def _positive_seconds(value: str) -> float:
    number = _seconds(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds above 0")
    return number


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "worker",
        help="claim queued runs and execute them (run one or more)",
        description="Claim queued runs and execute them, up to --concurrency at a time, until "
        "SIGTERM or Ctrl-C. Then it claims nothing more, lets running runs finish for --grace "
        "seconds, and stops the rest (their process trees are killed; they are recorded "
        "abandoned and retried if their job says so). On PostgreSQL run as many as you like: "
        "each renews a lease on its runs; the runs of a worker that dies are abandoned by the "
        "others once its lease has expired by --lease-grace seconds, and a worker that cannot "
        "renew its lease (the database unreachable) stops its own runs first. On the "
        "embedded SQLite store there is one process: `jobledger serve` runs the workers, and a "
        "worker started on its own takes the runs still running at its start for abandoned. "
        "At start the worker checks what each job type needs (powershell: pwsh 7.4 or later "
        "on PATH or at JOBLEDGER_PWSH) and claims only runs of the types it can run.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="only check which job types this machine can run (for powershell, the pwsh "
        "path and version found), print them and exit: 0 if it can run every type, else 1",
    )
    add_json_flag(parser)
    parser.add_argument(
        "--concurrency",
        type=_positive_int,
        default=DEFAULT_CONCURRENCY,
        help=f"runs executed at once (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--grace",
        type=_seconds,
        default=DEFAULT_GRACE_SECONDS,
        help=f"seconds running runs may finish after SIGTERM (default {DEFAULT_GRACE_SECONDS:g})",
    )
    parser.add_argument(
        "--lease-seconds",
        type=_positive_seconds,
        default=DEFAULT_LEASE_SECONDS,
        help="how long this worker's lease lasts unrenewed; it renews it six times as often "
        "and stops its runs after three quarters of it without a renewal "
        f"(default {DEFAULT_LEASE_SECONDS:g})",
    )
    parser.add_argument(
        "--lease-grace",
        type=_seconds,
        default=DEFAULT_LEASE_GRACE_SECONDS,
        help="seconds after another worker's lease expired before its runs are abandoned "
        f"and retried (default {DEFAULT_LEASE_GRACE_SECONDS:g})",
    )
    parser.set_defaults(handler=worker)


def check(args: argparse.Namespace) -> int:
    """Probe every installed job type as a worker does at start; print what was found."""
    from interfaces.bootstrap import job_type_catalog
    from interfaces.worker_runtime import probe_job_types

    found = probe_job_types(job_type_catalog())
    rows: list[dict[str, object]] = [
        {"type": name, "available": each.available, "checked": each.detail, "reason": each.reason}
        for name, each in sorted(found.items())
    ]
    if args.json:
        print_json(rows)
    else:
        print_table(
            [{**row, "available": "yes" if row["available"] else "no"} for row in rows],
            ["type", "available", "checked", "reason"],
        )
    return 0 if all(each.available for each in found.values()) else 1


def worker(args: argparse.Namespace) -> int:
    """Run a worker in this process until SIGTERM or SIGINT, then stop claiming, let running
    runs finish for `--grace` seconds and stop (and abandon) the rest."""
    if args.check:
        return check(args)
    from interfaces.worker_runtime import start_worker

    def announce(line: str) -> None:
        print(line)
        sys.stdout.flush()

    with opened() as system, stop_requested() as stop:
        handle = start_worker(
            system.app,
            system.backend,
            runs_view=system.runs,
            concurrency=args.concurrency,
            lease_seconds=args.lease_seconds,
            lease_grace_seconds=args.lease_grace,
            log_batch={"max_log_chars": system.settings.run_log_limit_chars},
            unrunnable_wait_seconds=system.settings.unrunnable_wait_seconds,
        )
        announce(
            f"JobLedger worker {handle.worker_id} running up to {args.concurrency} runs at a "
            f"time on {system.backend.describe()}"
        )
        try:
            wait_for(stop)
        finally:
            handle.stop(grace=args.grace)
    return 0
