"""/hooks/{trigger_id}: another system starts a job's run with a trigger's token.

Every call is on the audit trail: an accepted one as the run's request, a refused one as
`webhook.refused` (never with what was presented). An unknown or revoked trigger and a
wrong token cost about the same (one load, one hash comparison, one record), and the 404
says nothing of whether the trigger ever existed. Wrong tokens and unknown triggers count
as failed sign-ins of the caller's address (interfaces.http.rate_limit); calls with the
right token count against the trigger's own allowance (interfaces.http.hook_limit).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from domain.errors import Conflict, InvalidInput, NotPermitted
from domain.trigger import UNKNOWN_HASH, Trigger, bearer_matches, signature_matches
from interfaces.http import schemas
from interfaces.http.auth import bearer_token, client_address, count_failure
from interfaces.http.deps import get_system, settle
from interfaces.http.hook_limit import CallLimiter, TooManyCalls
from interfaces.http.problems import problem
from interfaces.http.responses import OrjsonResponse

router = APIRouter(tags=["webhooks"])

MAX_HOOK_BODY_BYTES = 64 * 1024
SIGNATURE_HEADER = "x-hub-signature-256"
NOT_FOUND = "there is no webhook trigger at this address"


def _trigger_id(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


@router.post(
    "/hooks/{trigger_id}",
    status_code=202,
    response_model=schemas.RunAccepted,
    summary="Start a run with a webhook trigger",
    description="Authenticate with `Authorization: Bearer <token>` or "
    "`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body, keyed with the token>`. An "
    "optional JSON object body overrides parameters, key by key: only the job's "
    "`overridable_parameters`. 401 for a wrong token, 404 for an unknown or revoked trigger, "
    "409 for a disabled job, 413 for a body over 64 KiB, 429 past the trigger's rate limit.",
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def call_hook(request: Request, trigger_id: str) -> Response:
    system = get_system(request)
    client = client_address(request)
    body = await request.body()

    async def refuse(trigger: Trigger | None, status: int, reason: str) -> None:
        await run_in_threadpool(
            system.app.record_webhook_refused,
            trigger_id,
            trigger,
            client=client,
            status=status,
            reason=reason,
        )

    ident = _trigger_id(trigger_id)
    trigger = None if ident is None else await run_in_threadpool(system.app.live_trigger, ident)
    bearer = bearer_token(request)
    signature = request.headers.get(SIGNATURE_HEADER)
    if trigger is None:
        # The work a wrong token or signature costs, so the two take about as long.
        if bearer is None and signature is not None:
            signature_matches(UNKNOWN_HASH, body, signature)
        else:
            bearer_matches(UNKNOWN_HASH, bearer or "")
        count_failure(request)
        await refuse(None, 404, "no live trigger has this id")
        return problem(404, "not-found", NOT_FOUND, request=request)
    if not trigger.authenticates(bearer=bearer, signature=signature, body=body):
        count_failure(request)
        given = "a wrong token" if bearer else "a wrong signature" if signature else "no token"
        await refuse(trigger, 401, f"{given} was given")
        return problem(
            401,
            "unauthorized",
            "send the trigger's token as Authorization: Bearer, or sign the body with it "
            "(X-Hub-Signature-256); the one given is wrong or missing",
            request=request,
            headers={"WWW-Authenticate": 'Bearer realm="jobledger-hooks"'},
        )
    limiter: CallLimiter = request.app.state.hook_calls
    try:
        limiter.called(str(trigger.id))
    except TooManyCalls as error:
        await refuse(trigger, 429, "rate limited")
        return problem(
            429,
            "too-many-calls",
            str(error),
            request=request,
            headers={"Retry-After": str(error.retry_after)},
        )
    return await _request_run(request, trigger, body, refuse)


async def _request_run(request: Request, trigger: Trigger, body: bytes, refuse: Any) -> Response:
    system = get_system(request)
    if len(body) > MAX_HOOK_BODY_BYTES:
        reason = f"the body is {len(body)} bytes; the limit is {MAX_HOOK_BODY_BYTES}"
        await refuse(trigger, 413, reason)
        return problem(413, "too-large", f"body: {reason}", request=request, field="body")
    try:
        overrides = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError as error:
        reason = f"the body is not JSON ({error})"
        await refuse(trigger, 400, reason)
        return problem(400, "malformed-body", f"body: {reason}", request=request, field="body")
    if not isinstance(overrides, dict):
        reason = f"the body must be a JSON object, got {type(overrides).__name__}"
        await refuse(trigger, 422, reason)
        return problem(422, "invalid-input", f"body: {reason}", request=request, field="body")
    job = await run_in_threadpool(system.app.trigger_job, trigger)
    if job is None:
        await refuse(trigger, 404, "the trigger's job is deleted")
        return problem(404, "not-found", NOT_FOUND, request=request)
    try:
        run = await run_in_threadpool(
            system.app.request_webhook_run,
            trigger,
            job,
            overrides,
            client=client_address(request),
        )
    except NotPermitted as error:
        await refuse(trigger, 403, error.message)
        raise
    except InvalidInput as error:
        await refuse(trigger, 422, f"{error.field}: {error.message}")
        raise
    except Conflict as error:
        await refuse(trigger, 409, str(error))
        raise
    await run_in_threadpool(settle, request)
    return OrjsonResponse(
        {"run_id": run.id}, status_code=202, headers={"Location": f"/api/runs/{run.id}"}
    )
