"""The first administrator token, so a new installation can be signed in to at once.

Only administrators exist by default, and none at all on a fresh store: the first start
creates one token named "admin" and prints it once. It is never shown again (only its
hash is kept); a lost token is replaced with `jobledger tokens create --role admin`.
"""

from __future__ import annotations

from collections.abc import Callable

from application.access_commands import AccessCommands
from application.ports import TokenStore
from domain.errors import Conflict

FIRST_ADMIN_NAME = "admin"
FIRST_START_ACTOR = "system:first-start"  # who the audit trail says made the first token


def ensure_first_admin(
    tokens: TokenStore, announce: Callable[[str], None], app: AccessCommands
) -> str | None:
    """Create and announce an admin token if there is no live one (recorded by `app` on the
    audit trail); the token, or None."""
    if tokens.has_admin():
        return None
    name = FIRST_ADMIN_NAME
    if any(t["name"] == name and not t["revoked"] for t in tokens.list()):
        name = f"{FIRST_ADMIN_NAME}-{len(tokens.list()) + 1}"  # a live non-admin holds "admin"
    try:
        _principal, plain = app.create_token(tokens, name, "admin", actor=FIRST_START_ACTOR)
    except Conflict:
        return None  # another process starting at the same moment made it (and shows it)
    announce(
        f"Created the first administrator token ({name!r}); it is shown this once, so keep it "
        "(sign in to the web pages with it, or send it as Authorization: Bearer):"
    )
    announce(plain)
    return str(plain)
