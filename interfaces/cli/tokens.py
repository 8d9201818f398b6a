"""`jobledger tokens create|list|revoke`: API tokens for the HTTP API and the web pages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from application.app import JobLedger
from application.ports import TokenStore
from domain.access import ROLES
from interfaces.bootstrap import build_token_access
from interfaces.cli.context import actor, add_json_flag
from interfaces.cli.output import print_json, print_table
from interfaces.settings import Settings
from interfaces.store_location import require_store


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "tokens",
        help="create, list and revoke API tokens",
        description="API tokens authenticate scripts (Authorization: Bearer) and people "
        "signing in to the web pages. Roles: admin (everything), operator (view, run now, "
        "cancel), viewer (read only). A token is shown once, when created; only its hash "
        "is stored. Creating and revoking are on the audit trail, by cli:USER.",
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = sub.add_parser(
        "create",
        help="create a token and print it (once)",
        description="Print a new token alone on its line. It cannot be shown again: store it now.",
    )
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--name", required=True, help="who or what holds it; the actor on events")
    create.set_defaults(handler=create_token)

    list_ = sub.add_parser("list", help="list tokens (never their values)")
    add_json_flag(list_)
    list_.set_defaults(handler=list_tokens)

    revoke = sub.add_parser("revoke", help="revoke a token by id or name")
    revoke.add_argument("token", metavar="ID_OR_NAME")
    revoke.set_defaults(handler=revoke_token)


@contextmanager
def opened_tokens() -> Iterator[tuple[JobLedger, TokenStore]]:
    """The token store, and the application that records creations and revocations."""
    settings = Settings.from_env()
    require_store(settings)  # a token minted in a store no server uses would be refused
    app, store = build_token_access(settings)
    try:
        yield app, store
    finally:
        store.close()
        app.close()


def create_token(args: argparse.Namespace) -> int:
    with opened_tokens() as (app, store):
        principal, plain = app.create_token(store, args.name, args.role, actor=actor())
    print(
        f"Created {principal.role} token {principal.name!r} (id {principal.token_id}); it is "
        "shown this once:",
        file=sys.stderr,
    )
    print(plain)
    return 0


def list_tokens(args: argparse.Namespace) -> int:
    with opened_tokens() as (_app, store):
        rows = store.list()
    if args.json:
        print_json(rows)
    else:
        print_table(rows, ["id", "name", "role", "created_at", "last_used_at", "revoked"])
    return 0


def revoke_token(args: argparse.Namespace) -> int:
    with opened_tokens() as (app, store):
        revoked = app.revoke_token(store, args.token, actor=actor())
    if revoked is None:
        print(f"jobledger: no live token with id or name {args.token!r}", file=sys.stderr)
        return 1
    print(f"Revoked token {args.token}.")
    return 0
