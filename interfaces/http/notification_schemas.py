"""Request and response bodies of the notification routes (see interfaces.http.schemas for
the conventions): channels, their test messages and the deliveries of a run."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field

from interfaces.http.schemas import Name, Request, Response, SecretValue, unset

ChannelType = Literal["webhook", "slack", "teams", "email"]
SecretField = Annotated[str, Field(pattern=r"^[a-z_]{1,32}$")]


class ChannelCreate(Request):
    name: Name
    type: ChannelType
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="webhook: url, headers, timeout_seconds; slack/teams: url (or secrets.url); "
        "email: host, port, security (starttls|tls|none), user, from, to",
    )
    secrets: Annotated[
        dict[SecretField, SecretValue],
        Field(
            description="write-only: webhook signing_secret, authorization; slack/teams url; "
            "email password"
        ),
    ] = Field(default_factory=dict)


class ChannelPatch(Request):
    """Only the fields present change. `config` is replaced whole; in `secrets` a value
    stores that secret and null removes it."""

    name: Name = unset("")
    config: dict[str, Any] = unset({})
    secrets: dict[SecretField, SecretValue | None] = unset({})


class Channel(Response):
    id: UUID
    version: int
    name: str
    type: ChannelType
    config: dict[str, Any]
    secrets: list[str] = Field(description="the names of the secrets set; never their values")
    created_by: str


class ListedChannel(Channel):
    created_at: datetime
    updated_at: datetime = Field(description="when its name, settings or secrets last changed")


class ChannelList(Response):
    items: list[ListedChannel]


class TestAccepted(Response):
    delivery_id: UUID


class DeliveryOut(Response):
    id: UUID
    run_id: UUID | None
    job_id: UUID | None
    channel_id: UUID
    channel_name: str
    event: str
    status: Literal["pending", "sending", "delivered", "given_up"]
    attempts: int
    last_status_code: int | None
    last_error: str
    requested_at: datetime
    next_attempt_at: datetime | None
    settled_at: datetime | None


class DeliveryList(Response):
    items: list[DeliveryOut]
