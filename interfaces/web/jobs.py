"""The jobs pages: a new job, and a job's page (configuration, secrets, run now); the list
is in job_list.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from domain.access import Principal
from domain.errors import Conflict, InvalidInput, NameTaken, NotFound
from domain.job_policies import DEFAULT_POLICIES
from domain.log_level import LogLevel
from domain.values import MISFIRE_POLICIES, OVERLAP_POLICIES, SECRET_NAME, SECRET_NAME_RULE
from interfaces.web import clone_rerun, run_form
from interfaces.web.auth import Admin, PageError, Viewer, form_with_csrf
from interfaces.web.common import next_run, now, parse_id, system
from interfaces.web.consistency import read_after_write, wanted_version
from interfaces.web.forms import (
    NEW_SECRET_ROWS,
    Errors,
    JobForm,
    check_the_rest,
    command_kwargs,
    job_raw,
    json_object_field,
    parse_job_form,
    text,
)
from interfaces.web.job_glance import glance_context
from interfaces.web.preview import preview
from interfaces.web.render import pretty_json, render
from interfaces.web.script_field import SCRIPT_EXAMPLES
from interfaces.web.session import principal_from_session
from interfaces.web.trigger_list import triggers_context

router = APIRouter(include_in_schema=False)

# A command clashed with someone else's change to the same job saved at the same moment.
CONCURRENT_CHANGE = (
    "Someone else changed this job at the same moment, so nothing was done. "
    "Reload the page to see their change, then try again."
)

# Shown beside the name field when another job has that name.
NAME_TAKEN = "another job already has this name (names ignore case and surrounding spaces)"


@contextmanager
def refused_as_pages(not_done: str, missing: str) -> Iterator[None]:
    """A command's NotFound and Conflict, shown as pages (404, 409) rather than the API's
    problem documents: the browser posted a form."""
    try:
        yield
    except NotFound:
        raise PageError(404, "Not found", missing) from None
    except Conflict:
        raise PageError(409, not_done, CONCURRENT_CHANGE) from None


AdminForm = Depends(form_with_csrf("admin"))
OperatorForm = Depends(form_with_csrf("operator"))


def choices() -> dict[str, Any]:
    return {
        "log_levels": [level.name for level in LogLevel],
        "overlap_policies": OVERLAP_POLICIES,
        "misfire_policies": MISFIRE_POLICIES,
        # The secret-name inputs check the rule the server enforces, and say it in words.
        "secret_name_pattern": SECRET_NAME.pattern,
        "secret_name_rule": SECRET_NAME_RULE[:1].upper() + SECRET_NAME_RULE[1:] + ".",
    }


# A new job.


def _new_page(request: Request, raw: dict[str, str], errors: Errors, status: int = 200) -> Response:
    job_types = system(request).app.job_types.describe()
    return render(
        request,
        "job_new.html",
        {
            "raw": raw,
            "errors": errors.by_field,
            "job_types": job_types,
            "examples": PROGRAM_EXAMPLES,
            "script_examples": SCRIPT_EXAMPLES,
            "secret_rows": range(1, NEW_SECRET_ROWS + 1),
            "preview": preview(raw["cron"], raw["timezone"], now(request)),
            **choices(),
        },
        status,
    )


# A starting program per job type, put in the editor when the type is chosen.
PROGRAM_EXAMPLES: dict[str, dict[str, Any]] = {
    "command": {"argv": ["python3", "-c", "print('hello')"]},
    "powershell": {},  # its script is in the Script field (script_field.py)
    "python": {"callable": "package.module:function"},
    "http": {"method": "GET", "url": "https://example.com/health"},
}

NEW_JOB_DEFAULTS = {
    "name": "",
    "description": "",
    "folder": "",
    "tags": "",
    "job_type": "command",
    "program": pretty_json(PROGRAM_EXAMPLES["command"]),
    "script": "",
    "script_newline": "lf",
    "cron": "",
    "timezone": "UTC",
    "parameters": "{}",
    "parameters_schema": "",
    "log_level": "Info",
    "enabled": "on",
    "timeout_seconds": "",
    "overlap": DEFAULT_POLICIES["overlap"],
    "misfire": DEFAULT_POLICIES["misfire"],
    "max_retries": "0",
    "retry_backoff_seconds": str(DEFAULT_POLICIES["retry_backoff_seconds"]),
    "log_retention_days": "",
    "run_retention_days": "",
    "keep_last_runs": "",
}


@router.get("/jobs/new")
def new_job_form(request: Request, principal: Principal = Admin) -> Response:
    # From a folder of the jobs page, the new job starts in that folder.
    folder = request.query_params.get("folder", "")
    return _new_page(request, {**NEW_JOB_DEFAULTS, "folder": folder}, Errors())


@router.post("/jobs/new")
async def create_job(request: Request, checked: tuple[Principal, Any] = AdminForm) -> Response:
    principal, form = checked
    parsed = parse_job_form(form, new=True)
    if parsed.errors:
        app = system(request).app
        await run_in_threadpool(check_the_rest, app, parsed, parsed.raw["job_type"], new=True)
        return _new_page(request, parsed.raw, parsed.errors, 422)
    try:
        job = await run_in_threadpool(
            lambda: system(request).app.register_job(
                **command_kwargs(parsed.config), secrets=parsed.secrets, actor=principal.actor
            )
        )
    except InvalidInput as error:
        parsed.errors.add(error)
        return _new_page(request, parsed.raw, parsed.errors, 422)
    except NameTaken:
        parsed.errors.by_field["name"] = NAME_TAKEN
        return _new_page(request, parsed.raw, parsed.errors, 409)
    return RedirectResponse(f"/jobs/{job.id}?v={job.version}&notice=created", status_code=303)


# A job's page.


def load_job(request: Request, job_id: UUID, version: int = 0) -> dict[str, Any]:
    """The job from the view; with `version` (a redirect after a change names it), waiting
    briefly until the view shows at least that version."""
    view = system(request).jobs
    job: dict[str, Any] | None = read_after_write(
        lambda: view.get_job(job_id),
        lambda j: j is not None and j["version"] >= version,
        wait=version > 0,
    )
    if job is None:
        raise PageError(404, "No such job", f"There is no job {job_id} (it may have been deleted).")
    return job


def job_page(
    request: Request,
    job: dict[str, Any],
    *,
    raw: dict[str, str] | None = None,
    errors: Errors | None = None,
    secret_errors: Errors | None = None,
    secret_name: str = "",
    run_errors: Errors | None = None,
    run_parameters: str = "{}",
    run_submitted: dict[str, str] | None = None,
    conflict: str = "",
    form_version: int | None = None,
    status: int = 200,
    trigger_errors: Errors | None = None,
    trigger_name: str = "",
    secrets_to_set: list[str] | None = None,
) -> Response:
    raw = raw or job_raw(job)
    runs, _ = system(request).runs.list_runs(job_id=job["id"], limit=10)
    found = system(request).job_type_availability([job["job_type"]])[job["job_type"]]
    return render(
        request,
        "job.html",
        {
            "job": job,
            "next_run": next_run(job, now(request)),
            "raw": raw,
            "errors": (errors or Errors()).by_field,
            "secret_errors": (secret_errors or Errors()).by_field,
            "secret_name": secret_name,
            "run_errors": (run_errors or Errors()).by_field,
            "run_parameters": run_parameters,
            "run_fields": _run_fields(request, job, run_submitted, run_errors),
            "conflict": conflict,
            # After a conflict the form keeps the version it was based on, so sending it
            # again cannot overwrite the other change unseen: reloading takes the new one.
            "form_version": form_version or job["version"],
            "runs": runs,
            "unrunnable": None if found.available else found.reason,
            "preview": preview(raw["cron"], raw["timezone"], now(request)),
            "secrets_to_set": secrets_to_set or [],
            **choices(),
            **triggers_context(request, job, trigger_errors, trigger_name),
            **glance_context(request, job),
        },
        status,
    )


@router.get("/jobs/{job_id}")
def show_job(request: Request, job_id: str, principal: Principal = Viewer) -> Response:
    ident = parse_id(job_id, "job")
    job = load_job(request, ident, wanted_version(request.query_params.get("v")))
    return job_page(request, job, secrets_to_set=clone_rerun.secrets_to_set(request, job))


@router.post("/jobs/{job_id}")
async def save_job(
    request: Request, job_id: str, checked: tuple[Principal, Any] = AdminForm
) -> Response:
    principal, form = checked
    ident = parse_id(job_id, "job")
    parsed = parse_job_form(form, new=False)
    version = wanted_version(text(form, "version")) or None
    return await run_in_threadpool(_save_job, request, ident, principal, parsed, version)


def _save_job(
    request: Request, job_id: UUID, principal: Principal, parsed: JobForm, version: int | None
) -> Response:
    if parsed.errors:
        job = load_job(request, job_id)
        check_the_rest(system(request).app, parsed, job["job_type"], new=False)
        return job_page(request, job, raw=_with_type(parsed, job), errors=parsed.errors, status=422)
    changes = {key: value for key, value in parsed.config.items() if key != "job_type"}
    try:
        saved = system(request).app.update_job(
            job_id, changes, actor=principal.actor, expected_version=version
        )
    except NotFound:
        raise PageError(404, "No such job", f"There is no job {job_id}.") from None
    except InvalidInput as error:
        parsed.errors.add(error)
        job = load_job(request, job_id)
        return job_page(request, job, raw=_with_type(parsed, job), errors=parsed.errors, status=422)
    except NameTaken:
        # Not a concurrent edit: the form is fine but for its name, so say so beside it.
        parsed.errors.by_field["name"] = NAME_TAKEN
        job = load_job(request, job_id)
        return job_page(request, job, raw=_with_type(parsed, job), errors=parsed.errors, status=409)
    except Conflict:
        job = load_job(request, job_id)
        message = (
            "Someone else changed this job after you opened it, so nothing was saved. "
            "Your edits are still in the form below; reload the page to see their changes."
        )
        return job_page(
            request,
            job,
            raw=_with_type(parsed, job),
            conflict=message,
            form_version=version,
            status=409,
        )
    notice = "saved" if version is None or saved.version != version else "unchanged"
    return RedirectResponse(f"/jobs/{job_id}?v={saved.version}&notice={notice}", status_code=303)


def _may_override_any(request: Request) -> bool:
    principal = principal_from_session(request)
    return principal is not None and principal.role == "admin"


def _run_fields(
    request: Request,
    job: dict[str, Any],
    submitted: dict[str, str] | None,
    errors: Errors | None,
) -> list[run_form.RunField] | None:
    """The typed Run now form's fields, for a job with a parameters schema (else None: the
    free JSON editor)."""
    if not job.get("parameters_schema"):
        return None
    by_parameter = {
        key.partition(".")[2]: message
        for key, message in (errors or Errors()).by_field.items()
        if key.startswith(run_form.PREFIX)
    }
    return run_form.run_fields(job, _may_override_any(request), submitted, by_parameter)


def _with_type(parsed: JobForm, job: dict[str, Any]) -> dict[str, str]:
    return {**parsed.raw, "job_type": job["job_type"]}


# Secrets: set or replace, remove. The value goes in, and is never sent back out.


@router.post("/jobs/{job_id}/secrets")
async def set_secret(
    request: Request, job_id: str, checked: tuple[Principal, Any] = AdminForm
) -> Response:
    principal, form = checked
    ident = parse_id(job_id, "job")
    name, value = text(form, "name").strip(), text(form, "value")

    def store() -> Response:
        try:
            with refused_as_pages("Secret not saved", f"There is no job {ident}."):
                job = system(request).app.store_secret(ident, name, value, actor=principal.actor)
        except InvalidInput as error:
            errors = Errors()
            errors.by_field["name" if error.field == "secret.name" else "value"] = error.message
            return job_page(
                request, load_job(request, ident), secret_errors=errors, secret_name=name,
                status=422,
            )  # fmt: skip
        return RedirectResponse(
            f"/jobs/{ident}?v={job.version}&notice=secret-set#secrets", status_code=303
        )

    return await run_in_threadpool(store)


@router.post("/jobs/{job_id}/secrets/{name}/remove")
async def remove_secret(
    request: Request, job_id: str, name: str, checked: tuple[Principal, Any] = AdminForm
) -> Response:
    principal, _form = checked
    ident = parse_id(job_id, "job")

    def remove() -> Response:
        with refused_as_pages("Secret not removed", f"Job {ident} has no secret {name!r}."):
            job = system(request).app.remove_secret(ident, name, actor=principal.actor)
        return RedirectResponse(
            f"/jobs/{ident}?v={job.version}&notice=secret-removed#secrets", status_code=303
        )

    return await run_in_threadpool(remove)


# Run now, and delete.


@router.post("/jobs/{job_id}/run")
async def run_now(
    request: Request, job_id: str, checked: tuple[Principal, Any] = OperatorForm
) -> Response:
    principal, form = checked
    ident = parse_id(job_id, "job")
    raw = text(form, "parameters")
    override_any = principal.role == "admin"

    def request_run() -> Response:
        submitted: dict[str, str] | None = None
        try:
            with refused_as_pages("Not run", f"There is no job {ident}."):
                # The form was made from the jobs view's row, so it is read by that row;
                # the command checks the overrides against the job itself.
                job = system(request).jobs.get_job(ident)
                if job is not None and job.get("parameters_schema"):  # the typed form
                    overrides, submitted = run_form.read_form(job, override_any, form)
                else:
                    overrides = json_object_field(raw, "parameters", empty={})
                run = system(request).app.request_run(
                    ident, actor=principal.actor, parameters=overrides, override_any=override_any
                )
        except InvalidInput as error:
            return job_page(
                request, load_job(request, ident), run_errors=_run_errors(error, submitted),
                run_parameters=raw, run_submitted=submitted, status=422,
            )  # fmt: skip
        # `new` tells the run page to wait for the runs view to show the run just requested.
        return RedirectResponse(f"/runs/{run.id}?new=1", status_code=303)

    return await run_in_threadpool(request_run)


def _run_errors(error: InvalidInput, submitted: dict[str, str] | None) -> Errors:
    """A refused run's errors: beside each field of the typed form (keys param.<name>), or
    beside the JSON editor."""
    errors = Errors()
    if submitted is None:
        errors.add(error)
        return errors
    by_parameter, general = run_form.errors_by_parameter(error)
    for name, message in by_parameter.items():
        errors.by_field[run_form.PREFIX + name] = message
    if general:
        errors.by_field["form"] = "; ".join(general)
    return errors


@router.post("/jobs/{job_id}/delete")
async def delete_job(
    request: Request, job_id: str, checked: tuple[Principal, Any] = AdminForm
) -> Response:
    principal, form = checked
    ident = parse_id(job_id, "job")
    if text(form, "confirm") != "yes":
        raise PageError(400, "Not deleted", "Tick the confirmation box to delete a job.")
    with refused_as_pages("Not deleted", f"There is no job {ident}."):
        await run_in_threadpool(system(request).app.delete_job, ident, actor=principal.actor)
    return RedirectResponse("/jobs?notice=deleted", status_code=303)
