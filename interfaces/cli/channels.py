"""`jobledger channels create|list|show|delete|test`: notification channels from the
command line, as administrators manage them through the API.

A secret's value should stay out of argv (any user on the machine can read a process's
arguments): `--secret-from-env KEY=ENVVAR` and `--secret-from-stdin KEY` read it from the
environment or standard input. There is deliberately no option that takes a value inline.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any
from uuid import UUID

import orjson

from adapters.clock import SystemClock
from domain import channel_config, values
from domain.errors import FieldErrors
from domain.notification_channel import NotificationChannel
from interfaces.cli.context import actor, add_json_flag, opened
from interfaces.cli.output import print_json, print_table


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "channels",
        help="create, list, show, delete and test notification channels",
        description="Where notifications go: a webhook, Slack, Teams or email. Secret fields "
        "are write-only: shown by name, never by value. Every change and test is on the "
        "audit trail, by cli:USER.",
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = sub.add_parser(
        "create",
        help="add a channel",
        description="Add a channel. Give secrets with --secret-from-env KEY=ENVVAR or "
        "--secret-from-stdin KEY, so their values stay out of the process list. Secret "
        "fields: webhook signing_secret, authorization; slack and teams url; email password.",
    )
    create.add_argument("--name", required=True, help="unique among channels")
    create.add_argument("--type", required=True, help="webhook, slack, teams or email")
    create.add_argument(
        "--config", default="{}", help='its settings, a JSON object, e.g. {"url": "https://..."}'
    )
    create.add_argument(
        "--secret-from-env",
        action="append",
        default=[],
        metavar="KEY=ENVVAR",
        help="a secret field's value from the environment variable ENVVAR (repeatable)",
    )
    create.add_argument(
        "--secret-from-stdin",
        action="append",
        default=[],
        metavar="KEY",
        help="a secret field's value from standard input (one such field at most)",
    )
    create.set_defaults(handler=create_channel)

    list_ = sub.add_parser("list", help="list channels by name (secrets by name only)")
    add_json_flag(list_)
    list_.set_defaults(handler=list_channels)

    show = sub.add_parser("show", help="show a channel (secrets by name only)")
    show.add_argument("channel_id", type=_channel_id, metavar="ID")
    show.set_defaults(handler=show_channel)

    delete = sub.add_parser("delete", help="delete a channel and destroy its secrets' key")
    delete.add_argument("channel_id", type=_channel_id, metavar="ID")
    delete.set_defaults(handler=delete_channel)

    test = sub.add_parser(
        "test",
        help="ask for a test message through a channel",
        description="Recorded as a delivery; a running notifier (`jobledger serve` or "
        "`jobledger notifier`) sends it, with retries like any other.",
    )
    test.add_argument("channel_id", type=_channel_id, metavar="ID")
    test.set_defaults(handler=test_channel)


def _channel_id(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a channel id (a UUID)") from None


def _pair(text: str) -> tuple[str, str] | None:
    key, sep, value = text.partition("=")
    return (key.strip(), value) if sep and key.strip() else None


def gather(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, str]]:
    """The checked config and the secrets' values; InvalidInput naming every field at
    fault (never a secret's value), before anything is written."""
    faults = FieldErrors()
    secrets: dict[str, str] = {}
    for text in args.secret_from_env:
        pair = _pair(text)
        if pair is None:
            faults.add("secret-from-env", f"{text!r} is not KEY=ENVVAR")
        elif pair[1] not in os.environ:
            faults.add(f"secrets.{pair[0]}", f"the environment variable {pair[1]!r} is not set")
        else:
            secrets[pair[0]] = os.environ[pair[1]]
    if len(args.secret_from_stdin) > 1:
        faults.add("secret-from-stdin", "standard input holds one secret: give one KEY")
    elif args.secret_from_stdin:
        value = sys.stdin.read().removesuffix("\n").removesuffix("\r")
        secrets[args.secret_from_stdin[0]] = value
    faults.check(lambda: values.job_name(args.name))
    kind = faults.check(lambda: channel_config.channel_type(args.type))
    try:
        config = orjson.loads(args.config)
    except orjson.JSONDecodeError as error:
        faults.add("config", f"is not valid JSON: {error}")
        config = None
    if kind is not None:
        plain = faults.check(lambda: channel_config.check_secrets(kind, secrets))
        if config is not None:
            names = set(plain if plain is not None else secrets)
            faults.check(lambda: channel_config.check_config(kind, config, names))
    faults.raise_any()
    return config, secrets


def present(channel: NotificationChannel) -> dict[str, Any]:
    """A channel as the API shows it: its secrets by name only."""
    return {
        "id": channel.id,
        "version": channel.version,
        "name": channel.name,
        "type": channel.type,
        "config": channel.config,
        "secrets": sorted(channel.secrets),
        "created_by": channel.created_by,
    }


def create_channel(args: argparse.Namespace) -> int:
    config, secrets = gather(args)
    with opened() as system:
        channel = system.app.create_channel(
            name=args.name, type=args.type, config=config, secrets=secrets, actor=actor()
        )
    print(f"Created channel {channel.name!r} ({channel.type}), id {channel.id}.", file=sys.stderr)
    print(channel.id)
    return 0


def list_channels(args: argparse.Namespace) -> int:
    with opened(catch_up=True) as system:  # from the notifications view
        rows = system.notifications.channels()
    if args.json:
        print_json(rows)
    else:
        print_table(
            [{**row, "secrets": ", ".join(row["secrets"])} for row in rows],
            ["id", "name", "type", "secrets", "created_by"],
        )
    return 0


def show_channel(args: argparse.Namespace) -> int:
    with opened() as system:
        print_json(present(system.app.get_channel(args.channel_id)))
    return 0


def delete_channel(args: argparse.Namespace) -> int:
    with opened() as system:
        channel = system.app.delete_channel(args.channel_id, actor=actor())
    print(f"Deleted channel {channel.name!r}; its secrets can no longer be decrypted.")
    return 0


def test_channel(args: argparse.Namespace) -> int:
    with opened() as system:
        delivery = system.app.request_test_notification(
            args.channel_id, actor=actor(), now=SystemClock().now()
        )
    print(f"Test message queued as delivery {delivery.id}; a running notifier sends it.")
    return 0
