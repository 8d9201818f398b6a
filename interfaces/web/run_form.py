"""The "Run now" form of a job with a parameters schema: one input per declared parameter
(text, number, checkbox or select), prefilled with what a run gets without overrides, only
the parameters the caller may override editable, and the server's refusals beside each field.

A job without a schema keeps the free JSON editor (run_now.html shows either).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.errors import InvalidInput
from domain.parameters_schema import ParameterSpec, base_parameters, specs

PREFIX = "param."  # form field names: param.<parameter name>
MISSING = object()


@dataclass(frozen=True)
class RunField:
    """One parameter as the form shows it."""

    spec: ParameterSpec
    text: str  # the input's value (a checkbox: "on" when ticked)
    editable: bool
    error: str

    @property
    def input_id(self) -> str:
        return f"run-param-{self.spec.name}"

    @property
    def input_name(self) -> str:
        return PREFIX + self.spec.name

    @property
    def step(self) -> str:
        return "1" if self.spec.type == "integer" else "any"


def editable_names(job: Mapping[str, Any], may_override_any: bool) -> set[str]:
    """The parameters this caller may override: an administrator any, an operator those the
    job opens (`overridable_parameters`)."""
    declared = {spec.name for spec in specs(job["parameters_schema"])}
    if may_override_any:
        return declared
    policies = job.get("policies") or {}
    return declared & set(policies.get("overridable_parameters") or ())


def run_fields(
    job: Mapping[str, Any],
    may_override_any: bool,
    submitted: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> list[RunField]:
    """The form's fields: the job's effective values, or what was submitted (after a
    refusal), with each parameter's error."""
    schema = job["parameters_schema"]
    base = base_parameters(schema, job["parameters"])
    editable = editable_names(job, may_override_any)
    errors = errors or {}
    fields = []
    for spec in specs(schema):
        if submitted is not None and spec.name in editable:
            text = submitted.get(spec.name, "")
        else:
            text = _as_text(spec, base.get(spec.name, MISSING))
        fields.append(RunField(spec, text, spec.name in editable, errors.get(spec.name, "")))
    return fields


def _as_text(spec: ParameterSpec, value: Any) -> str:
    if value is MISSING or value is None:
        return ""
    if spec.type == "boolean":
        return "on" if value is True else ""
    return value if isinstance(value, str) else json.dumps(value)


def read_form(
    job: Mapping[str, Any], may_override_any: bool, form: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """(the overrides: the editable parameters whose value differs from what the run gets
    without them, as typed values; the texts submitted, to show again). A number that does
    not parse goes on as text, so the schema's check names it beside its field."""
    schema = job["parameters_schema"]
    base = base_parameters(schema, job["parameters"])
    editable = editable_names(job, may_override_any)
    overrides: dict[str, Any] = {}
    submitted: dict[str, str] = {}
    for spec in specs(schema):
        if spec.name not in editable:
            continue
        raw = form.get(PREFIX + spec.name)
        text = raw if isinstance(raw, str) else ""
        submitted[spec.name] = "on" if spec.type == "boolean" and text else text
        value = _typed(spec, text)
        if value is MISSING:
            continue
        if base.get(spec.name, MISSING) != value or (
            # 1 and True compare equal in Python, not in JSON Schema.
            type(base.get(spec.name)) is not type(value)
        ):
            overrides[spec.name] = value
    return overrides, submitted


def _typed(spec: ParameterSpec, text: str) -> Any:
    if spec.type == "boolean":
        return bool(text)
    if spec.type == "string":
        return text
    stripped = text.strip()
    if not stripped:
        return MISSING  # left blank: the run gets the job's value, if it has one
    try:
        return int(stripped) if spec.type == "integer" else _number(stripped)
    except ValueError:
        return text


def _number(text: str) -> int | float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text else value


def errors_by_parameter(error: InvalidInput) -> tuple[dict[str, str], list[str]]:
    """(parameter -> message, for the fields; the messages that name no parameter)."""
    by_parameter: dict[str, str] = {}
    general: list[str] = []
    for each in error.errors:
        head, _, name = each.field.partition(".")
        if head == "parameters" and name:
            by_parameter.setdefault(name, each.message)
        else:
            general.append(f"{each.field}: {each.message}")
    return by_parameter, general
