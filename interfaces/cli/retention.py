"""`jobledger retention`: run the retention sweep now (`run`, `--dry-run` to only list what
would go), and convert an existing SQLite store to incremental vacuum (`vacuum`)."""

from __future__ import annotations

import argparse
from typing import Any

from interfaces.cli.context import add_json_flag, opened
from interfaces.cli.output import print_json
from interfaces.retention_runtime import retention_sweep


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "retention",
        help="delete expired run logs and runs now (the scheduler also does it periodically)",
        description="Retention deletes the log of each run past its job's log_retention_days "
        "(default JOBLEDGER_LOG_RETENTION_DAYS, 30) and reduces runs past run_retention_days "
        "(default JOBLEDGER_RUN_RETENTION_DAYS, 400); keep_last_runs keeps the last N logs.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = actions.add_parser("run", help="sweep now", description="Sweep now, once.")
    run.add_argument("--dry-run", action="store_true", help="list what would go; change nothing")
    add_json_flag(run)
    run.set_defaults(handler=run_sweep)
    vacuum = actions.add_parser(
        "vacuum",
        help="SQLite: a one-off full VACUUM that turns on incremental vacuum (stop serve first)",
        description="A SQLite store created before retention existed keeps freed pages "
        "until it is rebuilt once: this runs VACUUM with auto_vacuum=INCREMENTAL. It "
        "rewrites the whole file; stop `jobledger serve` first. Nothing to do on PostgreSQL.",
    )
    vacuum.set_defaults(handler=run_vacuum)


def run_sweep(args: argparse.Namespace) -> int:
    # Views caught up first: a log the logs view has not processed is not purged yet.
    with opened(catch_up=True) as system:
        sweep = retention_sweep(system.app, system.backend, system.settings.retention)
        try:
            report = sweep.run(dry_run=args.dry_run)
        finally:
            sweep.store.close()
        if not args.dry_run:
            system.catch_up()  # the runs view shows the purges at once
    if args.json:
        print_json(
            {
                "dry_run": report.dry_run,
                "logs_purged": report.logs_purged,
                "entries_purged": report.entries_purged,
                "runs_reduced": report.runs_reduced,
                "deferred": report.deferred,
                "runs": [
                    {
                        "run_id": r.run_id,
                        "job_id": r.job_id,
                        "action": r.due.value,
                        "entries": r.entries,
                        "reason": r.reason,
                    }
                    for r in report.runs
                ],
            }
        )
        return 0
    verb = "would purge" if report.dry_run else "purged"
    for r in report.runs:
        print(f"{r.run_id}  {r.due.value:<10} {r.entries:>9} entries  ({r.reason})")
    print(
        f"{verb} {report.logs_purged} logs ({report.entries_purged} entries); "
        f"{'would reduce' if report.dry_run else 'reduced'} {report.runs_reduced} runs"
        + (f"; {report.deferred} left for the next sweep" if report.deferred else "")
    )
    return 0


def run_vacuum(args: argparse.Namespace) -> int:
    del args
    with opened() as system:
        store = system.backend.retention_store(system.app.recorder)
        try:
            vacuum = getattr(store, "vacuum", None)
            if vacuum is None:
                print("nothing to do: PostgreSQL gives space back by itself (autovacuum)")
                return 0
            before = store.store_bytes()
            vacuum()
            print(f"vacuumed: {before} -> {store.store_bytes()} bytes; incremental from now on")
        finally:
            store.close()
    return 0
