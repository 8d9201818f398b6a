"""Typed parameters, checked with JSON Schema: a job's `parameters_schema` itself (valid
Draft 2020-12, within the subset domain.parameters_schema supports), and parameters against
it. One place for the rule, whoever gives the parameters: a job saved (its own parameters,
with the schema's defaults), and every run request that overrides them (run now, rerun, a
webhook call). Each refusal names every parameter at fault, by the field the caller sent."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError

from domain import parameters_schema as typed
from domain import values
from domain.errors import FieldErrors, InvalidInput
from domain.storable import check_json

FIELD = typed.FIELD


def check_parameters_schema(value: object) -> dict[str, Any] | None:
    """The schema to store (None: the job has none, and keeps the free JSON editor), or
    InvalidInput naming every place at fault."""
    if value is None:
        return None
    schema = values.json_object(check_json(value, FIELD), FIELD)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as refused:
        where = ".".join(str(p) for p in refused.path)
        field = f"{FIELD}.{where}" if where else FIELD
        raise InvalidInput(field, f"is not valid JSON Schema: {refused.message}") from None
    typed.check_subset(schema)
    # Each default must itself be a value its parameter accepts.
    errors = FieldErrors()
    for name, default in typed.defaults(schema).items():
        for error in Draft202012Validator(schema["properties"][name]).iter_errors(default):
            errors.add(f"{FIELD}.properties.{name}.default", _message(error))
    errors.raise_any()
    return schema


def check_parameters(
    schema: Mapping[str, Any] | None,
    parameters: Mapping[str, Any],
    *,
    field: str = "parameters",
    given: Mapping[str, Any] | None = None,
    given_field: str = "parameters",
) -> None:
    """Refuse `parameters` (effective: defaults, the job's own, overrides) that `schema`
    does not accept: InvalidInput naming each parameter at fault. A parameter in `given`
    (the overrides) is named under `given_field`, the others under `field`."""
    if schema is None:
        return
    given = given or {}
    declared = list(schema.get("properties") or {})
    found: list[tuple[str, str]] = []  # (parameter, message)
    for error in _validator(_key(schema)).iter_errors(dict(parameters)):
        if error.path:
            found.append((str(error.path[0]), _message(error)))
        elif error.validator == "required":
            missing = [r for r in schema.get("required", ()) if r not in parameters]
            found += [(name, "is required") for name in missing]
        elif error.validator == "additionalProperties":
            extra = sorted(set(parameters) - set(declared))
            found += [(name, "is not a parameter this job declares") for name in extra]
        else:  # not reached within the subset; named as a whole rather than lost
            found.append(("", error.message))
    # In the schema's order, as the form shows them; each parameter's first refusal.
    errors = FieldErrors()
    for parameter, message in sorted(found, key=lambda pm: _order(declared, pm[0])):
        where = given_field if parameter in given else field
        errors.add(f"{where}.{parameter}" if parameter else field, message)
    errors.raise_any()


def _order(declared: list[str], parameter: str) -> tuple[int, str]:
    return (declared.index(parameter) if parameter in declared else len(declared), parameter)


def _key(schema: Mapping[str, Any]) -> bytes:
    return orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)


@lru_cache(maxsize=256)
def _validator(key: bytes) -> Draft202012Validator:
    """One validator per distinct schema (a job's schema is checked at every run request)."""
    return Draft202012Validator(orjson.loads(key))


def _message(error: ValidationError) -> str:
    """The refusal in words that name no value (a parameter may be sensitive enough)."""
    rule, limit = str(error.validator), error.validator_value
    if rule == "type":
        kinds = {"integer": "a whole number", "number": "a number", "boolean": "true or false"}
        return f"must be {kinds.get(str(limit), 'text')}"
    if rule == "enum" and isinstance(limit, list):
        return "must be one of " + ", ".join(orjson.dumps(c).decode() for c in limit)
    words = {
        "minimum": f"must be at least {limit}",
        "maximum": f"must be at most {limit}",
        "minLength": f"must be at least {limit} characters long",
        "maxLength": f"must be at most {limit} characters long",
        "pattern": f"must match the pattern {limit}",
    }
    return words.get(rule, error.message)
