"""A job's typed parameters: the small subset of JSON Schema a job may declare them with.

The subset is what a generated "Run now" form can always render: an object whose properties
are each a string, integer, number or boolean, with an optional enum, default, title,
description, minimum/maximum (numbers), minLength/maxLength/pattern (strings), a `required`
list and `additionalProperties` true or false. Anything else is refused naming where it is
(`parameters_schema.properties.size.format`), so a schema that is stored always renders.

Stdlib only: whether a schema is valid JSON Schema (Draft 2020-12), and whether parameters
satisfy it, is checked by the application with jsonschema (application.parameter_checks).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.errors import FieldErrors, InvalidInput

FIELD = "parameters_schema"
TYPES = ("string", "integer", "number", "boolean")
SCHEMA_KEYS = frozenset(
    {"$schema", "type", "title", "description", "properties", "required", "additionalProperties"}
)
COMMON_KEYS = frozenset({"type", "title", "description", "default", "enum"})
KEYS_BY_TYPE = {
    "string": COMMON_KEYS | {"minLength", "maxLength", "pattern"},
    "integer": COMMON_KEYS | {"minimum", "maximum"},
    "number": COMMON_KEYS | {"minimum", "maximum"},
    "boolean": COMMON_KEYS - {"enum"},
}
MAX_PROPERTIES = 100


@dataclass(frozen=True)
class ParameterSpec:
    """One declared parameter, as a form shows it."""

    name: str
    type: str
    title: str
    description: str
    required: bool
    enum: tuple[Any, ...] | None = None
    default: Any = None
    has_default: bool = False
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None


def check_subset(value: object) -> dict[str, Any]:
    """The schema if it is within the supported subset; else one InvalidInput naming every
    place at fault (`parameters_schema`, `parameters_schema.properties.<name>.<keyword>`)."""
    if not isinstance(value, Mapping):
        raise InvalidInput(FIELD, "must be a JSON Schema object, or null for none")
    errors = FieldErrors()
    for key in sorted(set(value) - SCHEMA_KEYS):
        errors.add(f"{FIELD}.{key}", _unsupported(key, "at the top of a parameters schema"))
    if value.get("type") != "object":
        errors.add(f"{FIELD}.type", 'must be "object"')
    for key in ("title", "description"):
        if key in value and not isinstance(value[key], str):
            errors.add(f"{FIELD}.{key}", "must be text")
    if "additionalProperties" in value and not isinstance(value["additionalProperties"], bool):
        errors.add(f"{FIELD}.additionalProperties", "must be true or false")
    properties = value.get("properties", {})
    if not isinstance(properties, Mapping):
        errors.add(f"{FIELD}.properties", "must be an object of parameter name to schema")
        properties = {}
    elif len(properties) > MAX_PROPERTIES:
        errors.add(f"{FIELD}.properties", f"may declare at most {MAX_PROPERTIES} parameters")
    for name, prop in properties.items():
        _check_property(errors, str(name), prop)
    required = value.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        errors.add(f"{FIELD}.required", "must be a list of parameter names")
    else:
        undeclared = [r for r in required if r not in properties]
        if undeclared:
            errors.add(f"{FIELD}.required", f"names undeclared parameters: {', '.join(undeclared)}")
    errors.raise_any()
    return dict(value)


def _check_property(errors: FieldErrors, name: str, prop: object) -> None:
    where = f"{FIELD}.properties.{name}"
    if not name.strip():
        errors.add(where, "a parameter needs a name")
        return
    if not isinstance(prop, Mapping):
        errors.add(where, 'must be an object such as {"type": "string"}')
        return
    kind = prop.get("type")
    if kind not in TYPES:
        errors.add(f"{where}.type", f"must be one of {', '.join(TYPES)}")
        return
    for key in sorted(set(prop) - KEYS_BY_TYPE[kind]):
        errors.add(f"{where}.{key}", _unsupported(key, f"for a {kind} parameter"))
    for key in ("title", "description"):
        if key in prop and not isinstance(prop[key], str):
            errors.add(f"{where}.{key}", "must be text")
    if "enum" in prop:
        enum = prop["enum"]
        if not isinstance(enum, list) or not enum:
            errors.add(f"{where}.enum", "must be a non-empty list of choices")
        elif not all(_is_type(choice, kind) for choice in enum):
            errors.add(f"{where}.enum", f"every choice must be a {kind}")
    for key in ("minimum", "maximum"):
        if key in prop and not _is_type(prop[key], "number"):
            errors.add(f"{where}.{key}", "must be a number")
    for key in ("minLength", "maxLength"):
        if key in prop and not (_is_type(prop[key], "integer") and prop[key] >= 0):
            errors.add(f"{where}.{key}", "must be a whole number, 0 or more")
    if "pattern" in prop:
        pattern = prop["pattern"]
        if not isinstance(pattern, str):
            errors.add(f"{where}.pattern", "must be a regular expression")
        else:
            try:
                re.compile(pattern)
            except re.error as error:
                errors.add(f"{where}.pattern", f"is not a regular expression: {error}")
    for low, high in (("minimum", "maximum"), ("minLength", "maxLength")):
        bounds = prop.get(low), prop.get(high)
        if all(_is_type(b, "number") for b in bounds) and bounds[0] > bounds[1]:  # type: ignore[operator]
            errors.add(f"{where}.{low}", f"is above {high}")


def _unsupported(key: str, where: str) -> str:
    return (
        f"{key!r} is not supported {where} (supported: type, title, description, default, "
        "enum, minimum, maximum, minLength, maxLength, pattern, required)"
    )


def _is_type(value: object, kind: str) -> bool:
    """JSON Schema's types: a boolean is not a number, and 2.0 is an integer."""
    if isinstance(value, bool):
        return kind == "boolean"
    if kind == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if kind == "number":
        return isinstance(value, (int, float))
    if kind == "string":
        return isinstance(value, str)
    return False


def defaults(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """Each declared parameter's default, by name (none without a schema)."""
    if not schema:
        return {}
    properties = schema.get("properties") or {}
    return {
        name: prop["default"]
        for name, prop in properties.items()
        if isinstance(prop, Mapping) and "default" in prop
    }


def base_parameters(
    schema: Mapping[str, Any] | None, parameters: Mapping[str, Any]
) -> dict[str, Any]:
    """What a run gets before overrides: the schema's defaults, then the job's parameters."""
    return {**defaults(schema), **parameters}


def specs(schema: Mapping[str, Any]) -> list[ParameterSpec]:
    """The declared parameters in the order the schema lists them, for a form."""
    required = set(schema.get("required") or ())
    found: list[ParameterSpec] = []
    for name, prop in (schema.get("properties") or {}).items():
        enum = prop.get("enum")
        found.append(
            ParameterSpec(
                name=name,
                type=prop["type"],
                title=prop.get("title") or name,
                description=prop.get("description") or "",
                required=name in required,
                enum=tuple(enum) if enum is not None else None,
                default=prop.get("default"),
                has_default="default" in prop,
                minimum=prop.get("minimum"),
                maximum=prop.get("maximum"),
                min_length=prop.get("minLength"),
                max_length=prop.get("maxLength"),
                pattern=prop.get("pattern"),
            )
        )
    return found
