"""Small value rules shared by the aggregates: names, parameters, secret names, policies.

The retry policy's rules are in `domain.retry`."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from domain.errors import InvalidInput
from domain.storable import check_json, check_text

MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 4_000
MAX_PARAMETERS_BYTES = 64 * 1024
MAX_SECRET_BYTES = 16 * 1024
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600
MAX_FOLDER_LENGTH = 200
MAX_TAGS = 20
MAX_TAG_LENGTH = 40
# A tag is one short word a filter can name in a URL: letters, digits and - _ . : only.
TAG = re.compile(r"[\w.:-]+")

# Secret names become environment variables and PowerShell hashtable keys, so they must be
# identifiers: that keeps them unambiguous in every place the engine injects them.
# fullmatch, not `$`, which also matches before a final newline.
SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

OVERLAP_POLICIES = ("skip", "allow", "queue")
MISFIRE_POLICIES = ("run_once", "skip", "run_all")


def job_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("name", "must be a non-empty string")
    value = check_text(value.strip(), "name")
    check_no_control_characters(value, "name")
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidInput("name", f"is {len(value)} characters; the limit is {MAX_NAME_LENGTH}")
    return value


def check_no_control_characters(value: str, field: str) -> str:
    """Refuse C0 and C1 control characters and DEL: a name is printed in terminals, logs and
    pages, where a bell, an escape sequence or a line break would deceive the reader."""
    for position, char in enumerate(value):
        if unicodedata.category(char) == "Cc":
            raise InvalidInput(
                field, f"must not contain control characters (U+{ord(char):04X} at {position})"
            )
    return value


def description(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput("description", "must be a string")
    check_text(value, "description")
    if len(value) > MAX_DESCRIPTION_LENGTH:
        raise InvalidInput(
            "description", f"is {len(value)} characters; the limit is {MAX_DESCRIPTION_LENGTH}"
        )
    return value


def json_object(value: object, field: str, limit: int = MAX_PARAMETERS_BYTES) -> dict[str, Any]:
    """A JSON object (not a list or scalar) whose encoding fits in `limit` bytes."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(field, f"must be a JSON object, got {type(value).__name__}")
    check_json(value, field)
    try:
        encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidInput(field, f"is not plain JSON: {error}") from None
    size = len(encoded.encode())
    if size > limit:
        raise InvalidInput(field, f"is {size} bytes as JSON; the limit is {limit}")
    # Round-trip so the stored value is plain JSON (no tuples, no subclasses).
    result: dict[str, Any] = json.loads(encoded)
    return result


def parameters(value: object, field: str = "parameters") -> dict[str, Any]:
    return json_object(value, field)


def secret_name(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput("secret.name", f"must be text; {SECRET_NAME_RULE}")
    if not SECRET_NAME.fullmatch(value):
        raise InvalidInput("secret.name", f"{_secret_name_fault(value)}; {SECRET_NAME_RULE}")
    return value


# Said wherever a secret name is typed (the pages' inputs show it too), so the rule a person
# reads is the one enforced: SECRET_NAME.
SECRET_NAME_RULE = (
    "a secret name may hold only the letters A-Z and a-z, the digits 0-9 and underscores (_), "
    "must start with a letter or an underscore, and is at most 64 characters long"
)


def _secret_name_fault(value: str) -> str:
    """What is wrong with a name SECRET_NAME refuses: the first character at fault."""
    if not value:
        return "is empty"
    for position, char in enumerate(value, start=1):
        allowed = char.isascii() and (char.isalnum() or char == "_")
        if not allowed:
            shown = "a space" if char == " " else repr(char)
            return f"{value!r} has {shown} at position {position}"
    if value[0].isdigit():
        return f"{value!r} starts with a digit"
    return f"{value!r} is {len(value)} characters long"


def secret_value(value: object) -> str:
    # Never echo the value in an error: only its type or size.
    if not isinstance(value, str):
        raise InvalidInput("secret.value", f"must be a string, got {type(value).__name__}")
    if not value:
        raise InvalidInput("secret.value", "must not be empty")
    if "\x00" in value:  # no process could receive it (environment, argv): refused here
        raise InvalidInput("secret.value", "must not contain NUL characters")
    if len(value.encode()) > MAX_SECRET_BYTES:
        raise InvalidInput("secret.value", f"is larger than {MAX_SECRET_BYTES} bytes")
    return value


def timeout_seconds(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInput("timeout_seconds", "must be a positive whole number of seconds or null")
    if value > MAX_TIMEOUT_SECONDS:
        raise InvalidInput("timeout_seconds", f"must be at most {MAX_TIMEOUT_SECONDS} (7 days)")
    return value


def choice(value: object, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidInput(field, f"{value!r} is not one of {', '.join(allowed)}")
    return str(value)


def job_type_name(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[a-z][a-z0-9_.-]{0,63}", value):
        raise InvalidInput(
            "job_type", f"{value!r} is not a job type name (lowercase letters, digits, _ . -)"
        )
    return value


def folder(value: object) -> str:
    """A folder path such as `Customers/Contoso`: segments separated by '/', none empty
    (so no leading, trailing or doubled '/'), each trimmed; "" or None is no folder."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput("folder", "must be a path such as Customers/Contoso, or null")
    value = check_text(value.strip(), "folder")
    check_no_control_characters(value, "folder")
    if not value:
        return ""
    if len(value) > MAX_FOLDER_LENGTH:
        raise InvalidInput(
            "folder", f"is {len(value)} characters; the limit is {MAX_FOLDER_LENGTH}"
        )
    segments = value.split("/")
    if any(not segment.strip() for segment in segments):
        raise InvalidInput("folder", f"{value!r} has an empty segment; write it as A/B/C")
    if any(segment != segment.strip() for segment in segments):
        raise InvalidInput("folder", f"{value!r} has a segment that starts or ends with a space")
    return value


def tags(value: object) -> list[str]:
    """At most MAX_TAGS distinct tags, each 1 to MAX_TAG_LENGTH letters, digits, - _ . or :,
    kept in the order given (duplicates dropped)."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise InvalidInput("tags", "must be a list of short strings")
    result: list[str] = []
    for position, tag in enumerate(value):
        if not isinstance(tag, str) or not TAG.fullmatch(tag) or len(tag) > MAX_TAG_LENGTH:
            raise InvalidInput(
                f"tags[{position}]",
                f"{tag!r} is not a tag: 1 to {MAX_TAG_LENGTH} letters, digits, - _ . or :",
            )
        if tag not in result:
            result.append(tag)
    if len(result) > MAX_TAGS:
        raise InvalidInput("tags", f"has {len(result)} tags; the limit is {MAX_TAGS}")
    return result
