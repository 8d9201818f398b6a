"""What each kind of notification channel needs: its plain settings (`config`) and its
write-only ones (`secrets`), checked per type so a bad channel is refused whole.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from domain import values
from domain.errors import InvalidInput

CHANNEL_TYPES = ("webhook", "slack", "teams", "email")
EMAIL_SECURITY = ("starttls", "tls", "none")
MAX_HEADERS = 20
MAX_RECIPIENTS = 50
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")
# Headers JobLedger sets itself: a channel must not forge or override them.
_RESERVED_HEADERS = {"content-type", "content-length", "host", "idempotency-key"}

# Secret fields each type accepts. Slack's and Teams' incoming-webhook URLs carry their own
# credential, so they may be given as a secret (`url`) instead of in `config`.
SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "webhook": ("signing_secret", "authorization"),
    "slack": ("url",),
    "teams": ("url",),
    "email": ("password",),
}
_CONFIG_FIELDS: dict[str, tuple[str, ...]] = {
    "webhook": ("url", "headers", "timeout_seconds"),
    "slack": ("url", "timeout_seconds"),
    "teams": ("url", "timeout_seconds"),
    "email": ("host", "port", "security", "user", "from", "to", "timeout_seconds"),
}


def channel_type(value: object) -> str:
    return values.choice(value, "type", CHANNEL_TYPES)


def url(value: object, field: str) -> str:
    if not isinstance(value, str) or len(value) > 2000:
        raise InvalidInput(field, "must be an http or https URL of at most 2000 characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(field, "must be an http or https URL with a host")
    values.check_no_control_characters(value, field)
    return value


def _headers(value: object) -> dict[str, str]:
    if not isinstance(value, dict) or len(value) > MAX_HEADERS:
        raise InvalidInput("config.headers", f"must be an object of at most {MAX_HEADERS} headers")
    for name, text in value.items():
        field = f"config.headers.{name}"
        if not _HEADER_NAME.fullmatch(name) or name.casefold() in _RESERVED_HEADERS:
            raise InvalidInput(field, "is not a header name a channel may set")
        if not isinstance(text, str) or len(text) > 2000:
            raise InvalidInput(field, "must be a string of at most 2000 characters")
        values.check_no_control_characters(text, field)
    return dict(value)


def _timeout(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 60:
        raise InvalidInput("config.timeout_seconds", "must be a whole number from 1 to 60")
    return value


def _email_config(config: dict[str, Any]) -> dict[str, Any]:
    host = config.get("host")
    if not isinstance(host, str) or not host or len(host) > 255 or "/" in host:
        raise InvalidInput("config.host", "must be the SMTP server's host name")
    values.check_no_control_characters(host, "config.host")
    security = values.choice(config.get("security", "starttls"), "config.security", EMAIL_SECURITY)
    default_port = {"starttls": 587, "tls": 465, "none": 25}[security]
    port = config.get("port", default_port)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise InvalidInput("config.port", "must be a port number from 1 to 65535")
    user = config.get("user")
    if user is not None and (not isinstance(user, str) or len(user) > 255):
        raise InvalidInput("config.user", "must be a user name or null")
    sender = config.get("from")
    if not isinstance(sender, str) or not _EMAIL.fullmatch(sender):
        raise InvalidInput("config.from", "must be an email address")
    to = config.get("to")
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not to or len(to) > MAX_RECIPIENTS:
        raise InvalidInput("config.to", f"must be a list of 1 to {MAX_RECIPIENTS} addresses")
    for i, address in enumerate(to):
        if not isinstance(address, str) or not _EMAIL.fullmatch(address):
            raise InvalidInput(f"config.to.{i}", "must be an email address")
    checked: dict[str, Any] = {
        "host": host,
        "port": port,
        "security": security,
        "user": user,
        "from": sender,
        "to": list(to),
    }
    return checked


def check_config(kind: str, config: object, secret_names: set[str]) -> dict[str, Any]:
    """The channel's checked `config`; `secret_names` are the secrets it has or is given
    (a Slack URL may be one of them)."""
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise InvalidInput("config", "must be a JSON object")
    values.json_object(config, "config")
    unknown = sorted(set(config) - set(_CONFIG_FIELDS[kind]))
    if unknown:
        raise InvalidInput(f"config.{unknown[0]}", f"is not a setting of a {kind} channel")
    checked: dict[str, Any]
    if kind == "email":
        checked = _email_config(config)
    else:
        checked = {}
        if "url" in config:
            checked["url"] = url(config["url"], "config.url")
        elif "url" not in secret_names:
            where = "config.url" if kind == "webhook" else "config.url (or secrets.url)"
            raise InvalidInput("config.url", f"is required: give {where}")
        if kind == "webhook" and "headers" in config:
            checked["headers"] = _headers(config["headers"])
    if "timeout_seconds" in config:
        checked["timeout_seconds"] = _timeout(config["timeout_seconds"])
    return checked


def check_secrets(kind: str, secrets: object) -> dict[str, str]:
    """The given secrets, by name; never echoes a value in an error."""
    if secrets is None:
        return {}
    if not isinstance(secrets, dict):
        raise InvalidInput("secrets", "must be a JSON object of name -> value")
    allowed = SECRET_FIELDS[kind]
    for name, value in secrets.items():
        if name not in allowed:
            raise InvalidInput(
                f"secrets.{name}", f"is not a secret of a {kind} channel ({', '.join(allowed)})"
            )
        try:
            values.secret_value(value)
        except InvalidInput as error:
            raise InvalidInput(f"secrets.{name}", error.message) from None
        if name == "url":
            # Checked for shape only, and named without the value: it holds a credential.
            try:
                url(value, "secrets.url")
            except InvalidInput:
                raise InvalidInput("secrets.url", "must be an http or https URL") from None
    return dict(secrets)
