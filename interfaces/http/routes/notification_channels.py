"""/api/notification-channels: administrators manage where notifications go, and send a
test message; /api/runs/{id}/notifications: what was sent for a run, where, and how it went.

Listings read the notifications view (`projections.notifications`); one channel is read
from its aggregate, whose version is the ETag a change must match. A change waits for the
views (`settle`), so a listing right after it shows it.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from domain.notification_channel import NotificationChannel
from interfaces.http import notification_schemas as schemas
from interfaces.http.auth import Admin, Viewer
from interfaces.http.deps import SystemDep, now, settle
from interfaces.http.inputs import check_json, check_text
from interfaces.http.responses import OrjsonResponse
from interfaces.http.routes.common import IfMatch, etag, expected_version

router = APIRouter(tags=["notifications"])
PREFIX = "/api/notification-channels"

ChannelId = Annotated[UUID, Path(description="the channel's id")]


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


@router.post(PREFIX, status_code=201, response_model=schemas.Channel, summary="Add a channel")
def create_channel(
    request: Request, system: SystemDep, body: schemas.ChannelCreate, principal: Admin
) -> Response:
    data = body.model_dump()
    check_text(data["name"], "name")
    check_json(data["config"], "config")
    channel = system.app.create_channel(
        name=data["name"],
        type=data["type"],
        config=data["config"],
        secrets=data["secrets"],
        actor=principal.actor,
    )
    settle(request)
    headers = {"Location": f"{PREFIX}/{channel.id}", **etag(channel.version)}
    return OrjsonResponse(present(channel), status_code=201, headers=headers)


@router.get(PREFIX, response_model=schemas.ChannelList, summary="List channels, by name")
def list_channels(system: SystemDep, _principal: Admin) -> Response:
    return OrjsonResponse({"items": system.notifications.channels()})


@router.get(f"{PREFIX}/{{channel_id}}", response_model=schemas.Channel, summary="Show a channel")
def get_channel(system: SystemDep, channel_id: ChannelId, _principal: Admin) -> Response:
    channel = system.app.get_channel(channel_id)
    return OrjsonResponse(present(channel), headers=etag(channel.version))


@router.patch(
    f"{PREFIX}/{{channel_id}}", response_model=schemas.Channel, summary="Change a channel"
)
def update_channel(
    request: Request,
    system: SystemDep,
    channel_id: ChannelId,
    body: schemas.ChannelPatch,
    principal: Admin,
    if_match: IfMatch = None,
) -> Response:
    version = expected_version(if_match, lambda: system.app.get_channel(channel_id).version)
    changes = body.model_dump(include=body.model_fields_set)
    if "name" in changes:
        check_text(changes["name"], "name")
    if "config" in changes:
        check_json(changes["config"], "config")
    channel = system.app.update_channel(
        channel_id, changes, actor=principal.actor, expected_version=version
    )
    settle(request)
    return OrjsonResponse(present(channel), headers=etag(channel.version))


@router.delete(
    f"{PREFIX}/{{channel_id}}",
    status_code=204,
    response_class=Response,
    summary="Delete a channel (its secrets are destroyed)",
)
def delete_channel(
    request: Request,
    system: SystemDep,
    channel_id: ChannelId,
    principal: Admin,
    if_match: IfMatch = None,
) -> Response:
    version = expected_version(if_match, lambda: system.app.get_channel(channel_id).version)
    system.app.delete_channel(channel_id, actor=principal.actor, expected_version=version)
    settle(request)
    return Response(status_code=204)


@router.post(
    f"{PREFIX}/{{channel_id}}/test",
    status_code=202,
    response_model=schemas.TestAccepted,
    summary="Send a test message through a channel",
    description="Recorded as a delivery; the notifier sends it, with retries like any other. "
    "Its outcome: GET /api/notification-deliveries/{delivery_id}.",
)
def test_channel(
    request: Request, system: SystemDep, channel_id: ChannelId, principal: Admin
) -> Response:
    delivery = system.app.request_test_notification(
        channel_id, actor=principal.actor, now=now(request)
    )
    return OrjsonResponse({"delivery_id": delivery.id}, status_code=202)


@router.get(
    "/api/notification-deliveries/{delivery_id}",
    response_model=schemas.DeliveryOut,
    summary="Show a delivery and its status",
)
def get_delivery(
    system: SystemDep,
    delivery_id: Annotated[UUID, Path(description="the delivery's id")],
    _principal: Viewer,
) -> Response:
    return OrjsonResponse(system.app.get_delivery(delivery_id).summary())


@router.get(
    "/api/runs/{run_id}/notifications",
    response_model=schemas.DeliveryList,
    summary="What was sent for a run, where, and each delivery's status",
)
def run_notifications(
    request: Request,
    system: SystemDep,
    run_id: Annotated[UUID, Path(description="the run's id")],
    _principal: Viewer,
) -> Response:
    system.app.get_run(run_id)  # 404 for an unknown run
    # Deliveries are written by the notifier, perhaps in another process: wait (bounded)
    # until the view holds what is stored now, so what a receiver got is listed.
    settle(request)
    return OrjsonResponse({"items": system.notifications.run_deliveries(run_id)})
