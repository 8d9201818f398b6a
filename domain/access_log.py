"""Who got access: API tokens created and revoked, sign-ins that succeeded or failed.

The token store (an adapter) answers "is this token live?" quickly; these events are the
audit record of access, so the audit trail replays from the event store like every other
read model. Each fact is a stream of its own (one event under a random id): sign-ins from
many browsers at once never contend for one stream's next version, recording one costs one
insert, and a token created before these events existed can still have its revocation
recorded. No event here holds a token, or any part of one: only its id, name and role.
"""

from __future__ import annotations

from uuid import uuid4

from eventsourcing.domain import Aggregate

from domain.access import Principal

UNKNOWN = "unknown"  # the actor and token name of a failed sign-in: nobody was recognised
MAX_CLIENT_LENGTH = 200  # an address as the server reports it; longer is cut, not refused


class Access(Aggregate):
    """One access fact. Recorded once, never changed."""

    class Recorded(Aggregate.Created):
        """Base of the access events: who caused it (the actor on the audit trail)."""

        actor: str

    class TokenCreated(Recorded):
        token_id: str
        token_name: str
        role: str

    class TokenRevoked(Recorded):
        token_id: str
        token_name: str
        role: str

    class SignedIn(Recorded):
        """A person signed in to the web pages with a live token (actor: that token)."""

        token_id: str
        token_name: str
        client: str

    class SignInFailed(Recorded):
        """A sign-in with a token that is not live. A revoked token is named (someone still
        holds it); any other is "unknown", and never recorded, not even in part: it may be
        a live token mistyped."""

        client: str
        token_id: str | None
        token_name: str

    def __init__(self, actor: str) -> None:
        self.actor = actor


def _client(address: str) -> str:
    return (address or UNKNOWN)[:MAX_CLIENT_LENGTH]


def token_created(*, token_id: str, token_name: str, role: str, actor: str) -> Access:
    return Access._create(
        Access.TokenCreated,
        id=uuid4(),
        actor=actor,
        token_id=token_id,
        token_name=token_name,
        role=role,
    )


def token_revoked(*, token_id: str, token_name: str, role: str, actor: str) -> Access:
    return Access._create(
        Access.TokenRevoked,
        id=uuid4(),
        actor=actor,
        token_id=token_id,
        token_name=token_name,
        role=role,
    )


def signed_in(*, token_id: str, token_name: str, actor: str, client: str) -> Access:
    return Access._create(
        Access.SignedIn,
        id=uuid4(),
        actor=actor,
        token_id=token_id,
        token_name=token_name,
        client=_client(client),
    )


def sign_in_failed(*, client: str, revoked: Principal | None = None) -> Access:
    """A failed sign-in from `client`; `revoked` is the revoked token it used, if it was one.
    The actor is "unknown" either way: nobody signed in."""
    return Access._create(
        Access.SignInFailed,
        id=uuid4(),
        actor=UNKNOWN,
        client=_client(client),
        token_id=None if revoked is None else revoked.token_id,
        token_name=UNKNOWN if revoked is None else revoked.name,
    )
