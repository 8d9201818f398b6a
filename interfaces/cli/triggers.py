"""`jobledger triggers create|list|revoke JOB`: webhook triggers that start a job's runs."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any
from uuid import UUID

from domain.errors import NotFound
from interfaces.cli.context import actor, add_json_flag, job_id, opened
from interfaces.cli.output import print_json, print_table

BASE_URL_ENV = "JOBLEDGER_BASE_URL"


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "triggers",
        help="create, list and revoke a job's webhook triggers",
        description="A webhook trigger is a URL (/hooks/ID) and a token with which another "
        "system starts a run of the job: POST with Authorization: Bearer TOKEN, or sign the "
        "body with the token (X-Hub-Signature-256). The token is shown once, when created; "
        "only its hash is stored. Creating and revoking are on the audit trail, by cli:USER.",
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = sub.add_parser(
        "create",
        help="create a trigger and print its URL and token (once)",
        description="Print the trigger's URL, then its token alone on the last line. The "
        "token cannot be shown again: store it now.",
    )
    create.add_argument("job_id", type=job_id, metavar="JOB")
    create.add_argument("--name", required=True, help="unique among the job's triggers")
    create.add_argument(
        "--base-url",
        default=os.environ.get(BASE_URL_ENV, ""),
        help=f"where the API is reached, e.g. https://jobs.example.com (default ${BASE_URL_ENV})",
    )
    create.set_defaults(handler=create_trigger)

    list_ = sub.add_parser("list", help="list a job's live triggers (never their tokens)")
    list_.add_argument("job_id", type=job_id, metavar="JOB")
    add_json_flag(list_)
    list_.set_defaults(handler=list_triggers)

    revoke = sub.add_parser("revoke", help="revoke a trigger: its URL starts no run again")
    revoke.add_argument("job_id", type=job_id, metavar="JOB")
    revoke.add_argument("trigger_id", type=_trigger_id, metavar="TRIGGER_ID")
    revoke.set_defaults(handler=revoke_trigger)


def _trigger_id(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a trigger id (a UUID)") from None


def create_trigger(args: argparse.Namespace) -> int:
    with opened() as system:
        trigger, token = system.app.create_trigger(args.job_id, args.name, actor=actor())
    url = f"{args.base_url.rstrip('/')}/hooks/{trigger.id}"
    print(
        f"Created trigger {trigger.name!r} (id {trigger.id}) for job {trigger.job_id}.\n"
        f"URL: {url}\n"
        "Its token is shown this once:",
        file=sys.stderr,
    )
    print(token)
    return 0


def list_triggers(args: argparse.Namespace) -> int:
    with opened(catch_up=True) as system:  # from the views
        if system.jobs.get_job(args.job_id) is None:
            raise NotFound("job", args.job_id)
        rows = system.notifications.job_triggers(args.job_id)
    if args.json:
        print_json(rows)
    else:
        print_table(rows, ["id", "name", "created_at", "created_by"])
    return 0


def revoke_trigger(args: argparse.Namespace) -> int:
    with opened() as system:
        revoked = system.app.revoke_trigger(args.job_id, args.trigger_id, actor=actor())
    print(f"Revoked trigger {revoked['name']!r} ({revoked['id']}).")
    return 0
