"""The `http` job type: one HTTP request to a REST API (a PSA system, say); non-2xx fails.

The request is rendered from templates over the run's parameters and secrets (see
adapters.executors.templates). The rendered URL and headers may hold secrets, so the log
names the method and the URL *template*, then the status and a bounded response excerpt.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from adapters.executors.templates import Values, render_body, render_text, render_url
from domain.errors import InvalidInput, NotPermitted
from domain.log_level import LogLevel
from domain.redaction import Redactor
from jobtypes import Execution, LogSink, Outcome, StopSignal

# httpx logs each request's rendered URL at INFO, and a rendered URL may carry a secret in
# its query string: whatever logging a process sets up, httpx says only warnings.
logging.getLogger("httpx").setLevel(logging.WARNING)

PROGRAM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]},
        "url": {"type": "string", "pattern": "^(https?://|\\{\\{)"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "body": {},
    },
    "required": ["method", "url"],
    "additionalProperties": False,
}
EXCERPT_BYTES = 2048
DEFAULT_TIMEOUT_SECONDS = 300.0
USER_AGENT = "JobLedger"


@dataclass
class _Response:
    status: int = 0
    reason: str = ""
    excerpt: str = ""
    error: BaseException | None = None


class HttpExecutor:
    """Sends the rendered request; the worker's stop ends the wait at once."""

    def __init__(
        self,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.transport = transport

    def execute(self, execution: Execution, log: LogSink, stop: StopSignal) -> Outcome:
        program = execution.program
        method = program["method"]
        log(LogLevel.Info, f"{method} {program['url']}")
        try:
            request = self._render(program, Values(execution.parameters, execution.secrets))
        except InvalidInput as error:
            return Outcome(None, f"{error.field}: {error.message}")
        timeout = self.timeout_seconds
        if execution.timeout_seconds:
            timeout = min(timeout, float(execution.timeout_seconds))
        client = httpx.Client(
            timeout=timeout, follow_redirects=False, transport=self.transport,
            headers={"User-Agent": USER_AGENT},
        )  # fmt: skip
        response = _Response()
        redactor = Redactor(execution.secrets.values())
        started = time.monotonic()
        sender = threading.Thread(target=_send, args=(client, method, request, response, redactor))
        sender.daemon = True
        sender.start()
        while sender.is_alive():
            if stop.wait(0.05):
                client.close()  # closes the pool; a request in flight ends at its timeout
                return Outcome(None, f"stopped ({stop.reason}) before the response")
        client.close()
        elapsed_ms = (time.monotonic() - started) * 1000
        if response.error is not None:
            # Exception text can quote a rendered URL or header: mask the secrets in it.
            message = redactor.redact(f"{type(response.error).__name__}: {response.error}")
            log(LogLevel.Error, message)
            return Outcome(None, message)
        status_line = f"HTTP {response.status} {response.reason} in {elapsed_ms:.0f} ms"
        ok = 200 <= response.status < 300
        log(LogLevel.Info if ok else LogLevel.Error, status_line)
        if response.excerpt:
            log(LogLevel.Info if ok else LogLevel.Error, response.excerpt)
        if ok:
            return Outcome(0)
        detail = f"{status_line}\n{response.excerpt[:500]}" if response.excerpt else status_line
        return Outcome(response.status, detail)

    @staticmethod
    def _render(program: dict[str, Any], values: Values) -> dict[str, Any]:
        headers = {}
        for name, template in (program.get("headers") or {}).items():
            field = f"program.headers.{name}"
            value = render_text(template, values, field)
            if "\r" in value or "\n" in value:
                raise InvalidInput(field, "contains a line break once its placeholders are filled")
            headers[name] = value
        request: dict[str, Any] = {"url": render_url(program["url"], values), "headers": headers}
        if "body" in program and program["body"] is not None:
            body = render_body(program["body"], values)
            if isinstance(body, str):
                request["content"] = body.encode()
            else:
                request["json"] = body
        return request


def _send(
    client: httpx.Client,
    method: str,
    request: dict[str, Any],
    into: _Response,
    redactor: Redactor,
) -> None:
    try:
        with client.stream(method, **request) as response:
            into.status, into.reason = response.status_code, response.reason_phrase
            into.excerpt = _excerpt(response, redactor)
    except Exception as error:  # reported as the run's error, masked
        into.error = error


def _excerpt(response: httpx.Response, redactor: Redactor) -> str:
    """At most EXCERPT_BYTES characters of the body, masked before they are cut: a secret
    across the cut would otherwise leave a readable part. So the body is read far enough
    past the cut that a secret starting before it is read whole (UTF-8 takes at most 4
    bytes a character), and no further."""
    limit = 4 * (EXCERPT_BYTES + redactor.longest)
    data = b""
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) > limit:
            break
    try:
        text = data.decode(response.encoding or "utf-8", errors="replace")
    except LookupError:  # a charset the server made up: the excerpt is still worth showing
        text = data.decode("utf-8", errors="replace")
    text = redactor.redact(text)
    if len(text) <= EXCERPT_BYTES:
        return text.strip()
    return text[:EXCERPT_BYTES].strip() + " … (truncated)"


class HttpJobType:
    """The `http` job type, as registered in the `jobledger.job_types` entry-point group."""

    name = "http"
    description = (
        'One HTTP request, program {"method", "url", "headers": optional, "body": '
        "optional}. Placeholders {{parameters.name}} and {{secrets.name}} are filled in the "
        "URL (percent-encoded; {{parameters.name|raw}} as written), the headers and the body "
        "(a JSON body keeps a value's type where a string is exactly one placeholder). The "
        "log shows the method, the URL template, the status and the first 2 KB of the "
        "response; a status outside 2xx fails the run."
    )
    program_schema = PROGRAM_SCHEMA

    def executor(self) -> HttpExecutor:
        return HttpExecutor()

    def check_overrides(
        self, program: dict[str, Any], own: dict[str, Any], effective: dict[str, Any]
    ) -> None:
        """An override may change the path or the query, never where the request goes: the
        scheme, host and port must be those the job's own parameters give, since the request
        may carry the job's secrets (jobtypes.ChecksOverrides)."""
        template = str(program.get("url", ""))
        try:
            expected = _origin(render_url(template, Values(own, _AnySecret())))
        except InvalidInput:
            expected = None  # the job's own parameters do not make a URL: nothing to keep
        try:
            actual = _origin(render_url(template, Values(effective, _AnySecret())))
        except InvalidInput:
            return  # the run would fail before sending anything
        if actual != expected:
            changed = sorted(k for k in effective if own.get(k, _MISSING) != effective[k])
            raise NotPermitted(
                f"parameters.{changed[0]}" if changed else "parameters",
                "would send the request (and the job's secrets) to another host than the "
                "job's own parameters do; only an administrator may",
            )


class _AnySecret(dict[str, str]):
    """Stands in for the secrets when only the URL's origin matters: any name, one value."""

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> str:
        return "secret"


_MISSING = object()


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port


HTTP = HttpJobType()
