"""Request and response bodies of webhook triggers (/api/jobs/{id}/triggers, /hooks/{id})."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field

from interfaces.http.schemas import Request, Response

TriggerName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$",
        examples=["ticketing"],
        description="unique among the job's triggers; the run's trigger is webhook:<name>",
    ),
]


class TriggerCreate(Request):
    name: TriggerName


class Trigger(Response):
    id: UUID
    job_id: UUID
    name: str
    created_at: datetime
    created_by: str


class TriggerCreated(Trigger):
    url: Annotated[str, Field(description="POST here to start a run")]
    token: Annotated[
        str,
        Field(
            description="shown this once: send it as Authorization: Bearer, or sign the "
            "body with it (X-Hub-Signature-256: sha256=<hex HMAC-SHA256>)"
        ),
    ]


class Triggers(Response):
    items: list[Trigger]
