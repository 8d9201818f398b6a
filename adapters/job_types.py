"""The job types this installation knows: the built-ins and any plugin, by entry point.

A job type is an object with a name, a description, a JSON Schema for its `program` and an
`executor()` (jobtypes.JobType). Packages offer them in the `jobledger.job_types`
entry-point group, JobLedger's own four included. The catalog lets the application refuse a
program its job type could never run, when the job is registered or changed, and gives the
worker each type's executor. A plugin that fails to load is announced and left out: one
broken package must not stop JobLedger from starting.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any

from jsonschema import Draft202012Validator

from adapters.executors.command import COMMAND
from adapters.executors.http_request import HTTP
from adapters.executors.powershell import POWERSHELL
from adapters.executors.python_callable import PYTHON
from domain.errors import InvalidInput
from domain.values import job_type_name
from jobtypes import AVAILABLE, Availability, Executor, JobType

ENTRY_POINT_GROUP = "jobledger.job_types"
BUILT_IN: tuple[JobType, ...] = (POWERSHELL, COMMAND, PYTHON, HTTP)
logger = logging.getLogger("jobledger.job_types")


def _checked(candidate: Any) -> JobType:
    """The job type an entry point names (an instance, or a class to instantiate), checked."""
    job_type = candidate() if isinstance(candidate, type) else candidate
    for attribute in ("name", "description", "program_schema", "executor"):
        if not hasattr(job_type, attribute):
            raise TypeError(f"{job_type!r} has no {attribute!r}: not a JobType")
    job_type_name(job_type.name)
    if not callable(job_type.executor):
        raise TypeError(f"{job_type.name}.executor is not callable")
    Draft202012Validator.check_schema(job_type.program_schema)
    return job_type  # type: ignore[no-any-return]


def discover(group: str = ENTRY_POINT_GROUP) -> tuple[list[JobType], list[str]]:
    """Every loadable job type in `group`, then the built-ins the metadata did not list.

    Returns the types and one sentence per plugin left out. The built-ins are added from
    code when missing, so an installation whose metadata is stale still runs them.
    """
    found: dict[str, JobType] = {}
    problems: list[str] = []
    try:
        points = list(entry_points(group=group))
    except Exception as error:  # broken metadata of some distribution
        points = []
        problems.append(f"cannot read the {group} entry points: {error}")
    built_in = {job_type.name: job_type for job_type in BUILT_IN}
    for point in points:
        try:
            job_type = _checked(point.load())
        except Exception as error:
            problems.append(f"job type plugin {point.name!r} ({point.value}) skipped: {error}")
            continue
        owner = built_in.get(job_type.name)
        if job_type.name in found or (owner is not None and owner is not job_type):
            problems.append(
                f"job type plugin {point.name!r} ({point.value}) skipped: "
                f"the name {job_type.name!r} is taken"
            )
            continue
        found[job_type.name] = job_type
    for name, job_type in built_in.items():
        found.setdefault(name, job_type)
    for problem in problems:
        logger.warning(problem)
    return list(found.values()), problems


class EntryPointJobTypeCatalog:
    """Job types by name, each with a description, a program schema and an executor, found
    through entry points; implements application.ports.JobTypeCatalog."""

    def __init__(self, types: Iterable[JobType] | None = None) -> None:
        if types is None:
            loaded, self.problems = discover()
        else:
            loaded, self.problems = list(types), []
        self._types = {job_type.name: job_type for job_type in loaded}
        self._validators = {
            name: Draft202012Validator(job_type.program_schema)
            for name, job_type in self._types.items()
        }
        self._executors: dict[str, Executor] = {}

    def names(self) -> list[str]:
        return sorted(self._types)

    def describe(self) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "description": job_type.description,
                "program_schema": job_type.program_schema,
            }
            for name, job_type in sorted(self._types.items())
        ]

    def check_program(self, job_type: str, program: object) -> dict[str, Any]:
        validator = self._validators.get(job_type)
        if validator is None:
            raise self._unknown(job_type)
        error = next(iter(sorted(validator.iter_errors(program), key=lambda e: e.path)), None)
        if error is not None:
            where = ".".join(str(p) for p in error.absolute_path)
            raise InvalidInput(f"program.{where}" if where else "program", error.message)
        assert isinstance(program, dict)
        return program

    def check_overrides(
        self,
        job_type: str,
        program: dict[str, Any],
        own: dict[str, Any],
        effective: dict[str, Any],
    ) -> None:
        # Optional in the plugin API (jobtypes.ChecksOverrides): most types have no rule.
        check = getattr(self._types.get(job_type), "check_overrides", None)
        if check is not None:
            check(program, own, effective)

    def check(self, name: str) -> Availability:
        """Whether this machine can run job type `name`: its `check()` (optional in the
        plugin API, jobtypes.ChecksRequirements), else available. A probe that raises is
        a broken plugin, not a reason to stop the worker: the type is then unavailable."""
        job_type = self._types.get(name)
        if job_type is None:
            raise self._unknown(name)
        check = getattr(job_type, "check", None)
        if check is None:
            return AVAILABLE
        try:
            result = check()
        except Exception as error:
            logger.exception("job type %s: its requirement check failed", name)
            return Availability(False, reason=f"the {name} job type's check failed: {error}")
        if not isinstance(result, Availability):
            return Availability(False, reason=f"the {name} job type's check returned {result!r}")
        return result

    def check_all(self) -> dict[str, Availability]:
        """Every job type's availability on this machine, by name (each probed once)."""
        return {name: self.check(name) for name in self.names()}

    def executor(self, name: str) -> Executor:
        """The executor of job type `name`; one per type, shared (executors are stateless)."""
        executor = self._executors.get(name)
        if executor is None:
            job_type = self._types.get(name)
            if job_type is None:
                raise self._unknown(name)
            executor = self._executors[name] = job_type.executor()
        return executor

    def _unknown(self, name: str) -> InvalidInput:
        known = ", ".join(self.names())
        return InvalidInput("job_type", f"unknown job type {name!r}; known: {known}")
