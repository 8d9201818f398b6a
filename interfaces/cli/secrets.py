"""`jobledger secrets set|remove`: write-only secrets. The value is read from standard input
or a hidden prompt, never from the command line, where `ps` and shell history would see it."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from domain.errors import InvalidInput
from interfaces.cli.context import actor, job_id, opened


def register(commands: Any) -> None:
    parser = commands.add_parser("secrets", help="set or remove a job's secret parameters")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    set_ = sub.add_parser(
        "set",
        help="store a secret (value from stdin or a hidden prompt)",
        description="Store or replace a secret. The value is read from standard input when it "
        "is not a terminal (one line; the trailing newline is dropped), else from a hidden "
        "prompt. It is encrypted at once and never shown again.",
    )
    set_.add_argument("job_id", type=job_id)
    set_.add_argument("name", help="an identifier: letters, digits, underscores")
    set_.set_defaults(handler=set_secret)
    remove = sub.add_parser("remove", help="remove a secret")
    remove.add_argument("job_id", type=job_id)
    remove.add_argument("name")
    remove.set_defaults(handler=remove_secret)


def read_value() -> str:
    if sys.stdin.isatty():
        value = getpass.getpass("Secret value (hidden): ")
    else:
        value = sys.stdin.read()
        value = value[:-1] if value.endswith("\n") else value
    if not value:
        raise InvalidInput("secret.value", "nothing was given on standard input or the prompt")
    return value


def set_secret(args: argparse.Namespace) -> int:
    value = read_value()
    with opened() as system:
        job = system.app.store_secret(args.job_id, args.name, value, actor=actor())
    print(f"Stored secret {args.name} for job {job.id} (version {job.version}).")
    return 0


def remove_secret(args: argparse.Namespace) -> int:
    with opened() as system:
        job = system.app.remove_secret(args.job_id, args.name, actor=actor())
    print(f"Removed secret {args.name} from job {job.id} (version {job.version}).")
    return 0
