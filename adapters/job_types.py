"""The built-in job types and the JSON Schema each declares for its `program`.

Executing them is the engine's business; this catalog only lets the application refuse a
program that its job type could never run, at the moment the job is registered or changed.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from domain.errors import InvalidInput

BUILT_IN: dict[str, dict[str, Any]] = {
    "powershell": {
        "description": "A PowerShell script, run by pwsh with $Parameters and $Secrets.",
        "schema": {
            "type": "object",
            "properties": {"script": {"type": "string", "minLength": 1}},
            "required": ["script"],
            "additionalProperties": False,
        },
    },
    "command": {
        "description": "A command line (argv, no shell); parameters as JSON on stdin.",
        "schema": {
            "type": "object",
            "properties": {
                "argv": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "cwd": {"type": "string"},
            },
            "required": ["argv"],
            "additionalProperties": False,
        },
    },
    "python": {
        "description": "A Python callable 'module:function', run in a child process.",
        "schema": {
            "type": "object",
            "properties": {
                "callable": {"type": "string", "pattern": r"^[\w.]+:[\w.]+$"},
            },
            "required": ["callable"],
            "additionalProperties": False,
        },
    },
    "http": {
        "description": "An HTTP request to a REST API (e.g. a PSA system); non-2xx fails.",
        "schema": {
            "type": "object",
            "properties": {
                "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
                "url": {"type": "string", "pattern": "^https?://"},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "body": {},
            },
            "required": ["method", "url"],
            "additionalProperties": False,
        },
    },
}


class JobTypeCatalog:
    """Job types by name, each with a description and a program schema."""

    def __init__(self, types: dict[str, dict[str, Any]] | None = None) -> None:
        self._types = dict(BUILT_IN if types is None else types)
        self._validators = {
            name: Draft202012Validator(spec["schema"]) for name, spec in self._types.items()
        }

    def names(self) -> list[str]:
        return sorted(self._types)

    def describe(self) -> list[dict[str, Any]]:
        return [
            {"name": name, "description": spec["description"], "program_schema": spec["schema"]}
            for name, spec in sorted(self._types.items())
        ]

    def check_program(self, job_type: str, program: object) -> dict[str, Any]:
        validator = self._validators.get(job_type)
        if validator is None:
            known = ", ".join(self.names())
            raise InvalidInput("job_type", f"unknown job type {job_type!r}; known: {known}")
        error = next(iter(sorted(validator.iter_errors(program), key=lambda e: e.path)), None)
        if error is not None:
            where = ".".join(str(p) for p in error.absolute_path)
            raise InvalidInput(f"program.{where}" if where else "program", error.message)
        assert isinstance(program, dict)
        return program
