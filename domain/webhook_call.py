"""Calls to a webhook trigger, as audit facts: accepted (a run was requested) or refused.

Each call is a stream of its own (one event under a random id), like `domain.access_log`:
calls never contend for a stream, and an accepted call is saved with the run it requested,
in one transaction. No event here holds a token, a signature or any part of either.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.access_log import MAX_CLIENT_LENGTH, UNKNOWN

MAX_REASON_LENGTH = 500


class WebhookCall(Aggregate):
    """One call to `/hooks/{trigger_id}`. Recorded once, never changed."""

    class Recorded(Aggregate.Created):
        actor: str  # "webhook:<trigger name>", or "unknown" when no trigger matched
        # The id called, as given (a path segment that is not a trigger's id is kept too,
        # clipped): an unknown id is a call like any other.
        trigger_id: str
        job_id: UUID | None
        job_name: str | None
        client: str

    class Accepted(Recorded):
        run_id: UUID
        parameters: dict[str, Any]

    class Refused(Recorded):
        status: int
        reason: str

    def __init__(
        self, actor: str, trigger_id: str, job_id: UUID | None, job_name: str | None, client: str
    ) -> None:
        self.actor = actor


MAX_ID_LENGTH = 64


def _clip_id(trigger_id: str) -> str:
    # Printable ASCII only: it is shown on the audit page as given.
    text = "".join(ch if " " < ch < "\x7f" else "?" for ch in trigger_id)
    return text[:MAX_ID_LENGTH]


def _client(address: str) -> str:
    return (address or UNKNOWN)[:MAX_CLIENT_LENGTH]


def accepted(
    *,
    actor: str,
    trigger_id: str,
    job_id: UUID,
    job_name: str,
    client: str,
    run_id: UUID,
    parameters: dict[str, Any],
) -> WebhookCall:
    return WebhookCall._create(
        WebhookCall.Accepted,
        id=uuid4(),
        actor=actor,
        trigger_id=_clip_id(trigger_id),
        job_id=job_id,
        job_name=job_name,
        client=_client(client),
        run_id=run_id,
        parameters=parameters,
    )


def refused(
    *,
    actor: str | None,
    trigger_id: str,
    job_id: UUID | None,
    job_name: str | None,
    client: str,
    status: int,
    reason: str,
) -> WebhookCall:
    return WebhookCall._create(
        WebhookCall.Refused,
        id=uuid4(),
        actor=actor or UNKNOWN,
        trigger_id=_clip_id(trigger_id),
        job_id=job_id,
        job_name=job_name,
        client=_client(client),
        status=status,
        reason=reason[:MAX_REASON_LENGTH],
    )
