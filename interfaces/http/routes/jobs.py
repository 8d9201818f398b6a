"""/api/jobs: register, list, show (now or as it was), change, enable, disable, delete a job,
store and remove its secrets, run it now, and replay its history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import Response

from application.job_commands import POLICY_FIELDS
from domain import values
from domain.errors import FieldErrors, InvalidInput, NotFound
from interfaces.http import schemas
from interfaces.http.auth import Admin, Operator, Viewer
from interfaces.http.deps import SystemDep, get_system, now, settle
from interfaces.http.inputs import check_json, check_text, utc
from interfaces.http.present import (
    history_entry,
    job_from_aggregate,
    job_from_view,
    last_run_of,
)
from interfaces.http.responses import OrjsonResponse
from interfaces.http.routes.common import Cursor, IfMatch, Limit, etag, expected_version
from interfaces.http.routes.job_fields import JobFieldsRoute
from projections.jobs import JobQuery

router = APIRouter(prefix="/api/jobs", tags=["jobs"], route_class=JobFieldsRoute)

JobId = Annotated[UUID, Path(description="the job's id")]
SecretNameParam = Annotated[
    str, Path(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", description="the secret's name")
]


def check_secret(name: str, value: str, *, name_field: str, value_field: str) -> None:
    """The domain's secret rules, naming the fields as this API calls them."""
    try:
        values.secret_name(name)
    except InvalidInput as error:
        raise InvalidInput(name_field, error.message) from None
    check_text(value, value_field)
    try:
        values.secret_value(value)
    except InvalidInput as error:
        raise InvalidInput(value_field, error.message) from None


def _after_command(request: Request, job: Any, actor: str) -> dict[str, Any]:
    """The changed job for the response, once the views show the change too."""
    settle(request)
    row = get_system(request).jobs.get_job(job.id)
    updated_by = row["updated_by"] if row and row["version"] == job.version else actor
    return job_from_aggregate(
        job, updated_by=updated_by, now=now(request), last_run=last_run_of(row)
    )


@router.post(
    "",
    status_code=201,
    response_model=schemas.Job,
    summary="Register a job",
    description="Secrets are write-only: the response and every later one list them by name.",
)
def create_job(
    request: Request, system: SystemDep, body: schemas.JobCreate, principal: Admin
) -> Response:
    data = body.model_dump()
    fields = {
        "name": data["name"],
        "description": data["description"],
        "program": data["program"],
        "parameters": data["parameters"],
        "parameters_schema": data["parameters_schema"],
        "schedule": data["schedule"],
        "log_level": data["log_level"],
        "enabled": data["enabled"],
        "folder": data["folder"],
        "tags": data["tags"],
    }
    policies = {key: data[key] for key in POLICY_FIELDS}
    # The secrets are checked here, to name their fields as this API does; any other field
    # at fault is named in the same answer.
    errors = FieldErrors()
    for name, value in data["secrets"].items():
        errors.check(
            partial(check_secret, name, value, name_field="secrets", value_field=f"secrets.{name}")
        )
    if errors:
        errors.check(lambda: system.app.check_job_fields(data["job_type"], {**fields, **policies}))
        errors.raise_any()
    job = system.app.register_job(
        job_type=data["job_type"],
        actor=principal.actor,
        secrets=data["secrets"],
        policies=policies,
        **fields,
    )
    content = _after_command(request, job, principal.actor)
    headers = {"Location": f"/api/jobs/{job.id}", **etag(job.version)}
    return OrjsonResponse(content, status_code=201, headers=headers)


TypeName = Annotated[str | None, Query(max_length=64, pattern=r"^[a-z][a-z0-9_.-]*$")]


@router.get(
    "",
    response_model=schemas.JobPage,
    summary="List jobs, by name or another sort",
    description="Filters combine: `folder` matches the folder and its subfolders, each "
    "`tag` must be on the job, `status` is the last run's. `sort` is name, last_run (newest "
    "first), last_status (then name) or next_run (soonest first over all the jobs the filter "
    "keeps; jobs that will not fire last).",
)
def list_jobs(
    request: Request,
    system: SystemDep,
    _principal: Viewer,
    limit: Limit = 50,
    cursor: Cursor = None,
    enabled: bool | None = None,
    job_type: TypeName = None,
    type_: Annotated[TypeName, Query(alias="type", description="the same as job_type")] = None,
    folder: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")] = None,
    tag: Annotated[list[str] | None, Query(description="jobs with this tag (repeatable)")] = None,
    status: schemas.RunStatus | None = None,
    sort: Annotated[
        Literal["name", "last_run", "last_status", "next_run"], Query(description="the order")
    ] = "name",
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=r"^[^\x00]*$",
            description="jobs whose name or description contains this, ignoring case",
        ),
    ] = None,
    name_prefix: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=r"^[^\x00]*$",
            description="jobs whose name starts with this, exactly (case-sensitive)",
        ),
    ] = None,
) -> Response:
    if job_type is not None and type_ is not None and job_type != type_:
        raise InvalidInput("type", f"names {type_!r} but job_type names {job_type!r}")
    query = JobQuery(
        enabled=enabled,
        job_type=job_type or type_,
        name_prefix=name_prefix,
        search=(q or "").strip() or None,
        folder=values.folder(folder) or None,
        tags=values.tags(tag),
        status=status,
    )
    items, next_cursor = system.jobs.list_jobs(
        query,
        limit=limit,
        cursor=cursor,
        sort=sort,
        at=(at := now(request)),
    )
    jobs = [job_from_view(row, at) for row in items]
    return OrjsonResponse({"items": jobs, "next_cursor": next_cursor})


@router.get(
    "/{job_id}",
    response_model=schemas.Job,
    summary="Show a job, now or as it was at a past time",
)
def get_job(
    request: Request,
    system: SystemDep,
    job_id: JobId,
    _principal: Viewer,
    as_of: Annotated[
        datetime | None,
        Query(description="RFC 3339 time: the job as it was then (deleted jobs included)"),
    ] = None,
) -> Response:

    if as_of is not None:
        at = utc(as_of, "as_of")
        assert at is not None
        try:
            job = system.app.job_at(job_id, at=at)
        except InvalidInput as error:
            raise InvalidInput("as_of", error.message) from None
        actor = next(
            e.actor for e in system.app.job_history(job_id) if e.originator_version == job.version
        )
        content = job_from_aggregate(job, updated_by=actor, now=None)
        return OrjsonResponse(content, headers=etag(job.version))
    row = system.jobs.get_job(job_id)
    if row is None:
        raise NotFound("job", job_id)
    return OrjsonResponse(job_from_view(row, now(request)), headers=etag(row["version"]))


@router.patch(
    "/{job_id}",
    response_model=schemas.Job,
    summary="Change a job",
    description="Only the fields sent change, each recorded as its own event. With If-Match "
    "(the version the change is based on), a job changed meanwhile gives 409.",
)
def update_job(
    request: Request,
    system: SystemDep,
    job_id: JobId,
    body: schemas.JobPatch,
    principal: Admin,
    if_match: IfMatch = None,
) -> Response:
    version = expected_version(if_match, _version_of(request, job_id))
    changes = body.model_dump(include=body.model_fields_set)
    # The application checks every change (text and JSON a store could not keep included)
    # and names every field at fault at once.
    job = system.app.update_job(job_id, changes, actor=principal.actor, expected_version=version)
    return OrjsonResponse(_after_command(request, job, principal.actor), headers=etag(job.version))


def _version_of(request: Request, job_id: UUID) -> Callable[[], int]:
    """The job's current version, read for an If-Match that lists several (404 if none)."""
    return lambda: int(get_system(request).app.get_job(job_id).version)


@router.delete("/{job_id}", status_code=204, response_class=Response, summary="Delete a job")
def delete_job(
    request: Request, system: SystemDep, job_id: JobId, principal: Admin, if_match: IfMatch = None
) -> Response:
    system.app.delete_job(
        job_id,
        actor=principal.actor,
        expected_version=expected_version(if_match, _version_of(request, job_id)),
    )
    settle(request)
    return Response(status_code=204)


@router.post("/{job_id}/enable", response_model=schemas.Job, summary="Enable a job")
def enable_job(request: Request, system: SystemDep, job_id: JobId, principal: Admin) -> Response:
    job = system.app.enable_job(job_id, actor=principal.actor)
    return OrjsonResponse(_after_command(request, job, principal.actor), headers=etag(job.version))


@router.post("/{job_id}/disable", response_model=schemas.Job, summary="Disable a job")
def disable_job(request: Request, system: SystemDep, job_id: JobId, principal: Admin) -> Response:
    job = system.app.disable_job(job_id, actor=principal.actor)
    return OrjsonResponse(_after_command(request, job, principal.actor), headers=etag(job.version))


@router.put(
    "/{job_id}/secrets/{name}",
    status_code=204,
    response_class=Response,
    summary="Store or replace a secret (write-only)",
)
def put_secret(
    request: Request,
    system: SystemDep,
    job_id: JobId,
    name: SecretNameParam,
    body: schemas.SecretPut,
    principal: Admin,
    if_match: IfMatch = None,
) -> Response:
    check_secret(name, body.value, name_field="name", value_field="value")
    system.app.store_secret(
        job_id,
        name,
        body.value,
        actor=principal.actor,
        expected_version=expected_version(if_match, _version_of(request, job_id)),
    )
    settle(request)
    return Response(status_code=204)


@router.delete(
    "/{job_id}/secrets/{name}",
    status_code=204,
    response_class=Response,
    summary="Remove a secret",
)
def delete_secret(
    request: Request,
    system: SystemDep,
    job_id: JobId,
    name: SecretNameParam,
    principal: Admin,
    if_match: IfMatch = None,
) -> Response:
    system.app.remove_secret(
        job_id,
        name,
        actor=principal.actor,
        expected_version=expected_version(if_match, _version_of(request, job_id)),
    )
    settle(request)
    return Response(status_code=204)


@router.post(
    "/{job_id}/runs",
    status_code=202,
    response_model=schemas.RunAccepted,
    summary="Run a job now",
    description="Optional parameter overrides, merged key by key over the job's parameters. "
    "An operator may override only the parameters the job lists in `overridable_parameters` "
    "(403 naming the parameter otherwise, and nothing runs); an administrator may override "
    "any, but for an `http` job only an administrator may change the URL's host. With a "
    "`parameters_schema`, the run's parameters (its defaults, the job's, the overrides) must "
    "satisfy it: 422 naming each parameter at fault, and nothing runs.",
)
def run_job(
    request: Request,
    system: SystemDep,
    job_id: JobId,
    principal: Operator,
    body: Annotated[schemas.RunCreate | None, Body()] = None,
) -> Response:
    parameters = check_json(body.parameters, "parameters") if body is not None else None
    run = system.app.request_run(
        job_id,
        actor=principal.actor,
        parameters=parameters or None,
        override_any=principal.role == "admin",
    )
    settle(request)
    return OrjsonResponse(
        {"run_id": run.id}, status_code=202, headers={"Location": f"/api/runs/{run.id}"}
    )


@router.post(
    "/{job_id}/clone",
    status_code=201,
    response_model=schemas.JobCloned,
    summary="Clone a job",
    description="A new job named `name` with the configuration of this one, and no secrets: "
    "`secrets_to_set` names the secrets to set on it. A clone of a job with secrets starts "
    "disabled, so its schedule does not run it before they are set. 409 if the name is taken.",
)
def clone_job(
    request: Request,
    system: SystemDep,
    job_id: JobId,
    body: schemas.JobClone,
    principal: Admin,
) -> Response:
    clone, secret_names = system.app.clone_job(job_id, name=body.name, actor=principal.actor)
    content = {
        "job": _after_command(request, clone, principal.actor),
        "secrets_to_set": secret_names,
    }
    headers = {"Location": f"/api/jobs/{clone.id}", **etag(clone.version)}
    return OrjsonResponse(content, status_code=201, headers=headers)


@router.get(
    "/{job_id}/history",
    response_model=schemas.History,
    summary="Every event of a job: when, who, from what to what",
    description="Secrets appear by name only.",
)
def job_history(system: SystemDep, job_id: JobId, _principal: Viewer) -> Response:
    entries = system.audit.history(job_id)
    if not entries:
        raise NotFound("job", job_id)
    return OrjsonResponse({"items": [history_entry(entry) for entry in entries]})
