"""The `http` executor against a real HTTP server on localhost, started by the test."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from uuid import uuid4

import pytest

from adapters.executors.http_request import EXCERPT_BYTES, HttpExecutor
from domain.log_level import LogLevel
from jobtypes import Execution, Outcome, StopSignal

SECRET = "tok/9+Zq=never-logged"


class Recorded:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.release = threading.Event()
        self.arrived = threading.Event()


def handler_for(recorded: Recorded) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            recorded.requests.append(
                {"method": self.command, "path": self.path, "headers": dict(self.headers),
                 "body": body}
            )  # fmt: skip
            if self.path.startswith("/slow"):
                recorded.arrived.set()
                recorded.release.wait(10)
            status = 500 if self.path.startswith("/fail") else 200
            size = 10_000 if self.path.startswith("/big") else 0
            payload = ("y" * size) if size else json.dumps({"ok": status == 200, "echo": body})
            if self.path.startswith("/straddle"):  # a secret across the excerpt's cut
                payload = "y" * (EXCERPT_BYTES - 5) + SECRET + "z" * 100
            data = payload.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, Recorded]]:
    recorded = Recorded()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(recorded))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", recorded
    finally:
        recorded.release.set()
        httpd.shutdown()
        httpd.server_close()


class Log(list):
    def __call__(self, level: LogLevel, message: str, at: datetime | None = None) -> None:
        self.append((level, message))


def run(program: dict, stop: StopSignal | None = None, **fields) -> tuple[Outcome, Log]:
    values = dict(
        run_id=uuid4(), job_id=uuid4(), job_name="PSA sync", job_type="http", program=program,
        parameters={"tenant": "acme corp", "limit": 50, "base": ""},
        secrets={"API_KEY": SECRET}, log_level=LogLevel.Verbose, timeout_seconds=None,
        attempt=1,
    )  # fmt: skip
    values.update(fields)
    log = Log()
    outcome = HttpExecutor().execute(Execution(**values), log, stop or StopSignal())  # type: ignore[arg-type]
    return outcome, log


def test_a_request_is_rendered_from_parameters_and_secrets_and_logged_without_them(server):
    base, recorded = server
    program = {
        "method": "POST",
        "url": base + "/tickets/{{parameters.tenant}}?key={{ secrets.API_KEY }}",
        "headers": {"Authorization": "Bearer {{secrets.API_KEY}}"},
        "body": {"tenant": "{{parameters.tenant}}", "limit": "{{parameters.limit}}",
                 "note": "for {{parameters.tenant}}"},
    }  # fmt: skip
    outcome, log = run(program)
    assert outcome == Outcome(0)
    [request] = recorded.requests
    assert request["path"] == "/tickets/acme%20corp?key=tok%2F9%2BZq%3Dnever-logged"
    assert request["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert json.loads(request["body"]) == {"tenant": "acme corp", "limit": 50,
                                           "note": "for acme corp"}  # fmt: skip
    assert log[0] == (LogLevel.Info, "POST " + program["url"])
    assert log[1][0] is LogLevel.Info and log[1][1].startswith("HTTP 200 OK in ")
    assert json.loads(log[2][1])["ok"] is True
    everything = "\n".join(m for _, m in log)
    assert SECRET not in everything and "tok%2F9" not in everything


def test_a_raw_placeholder_keeps_a_base_url_as_written(server):
    base, recorded = server
    outcome, _ = run(
        {"method": "GET", "url": "{{parameters.base|raw}}/status"}, parameters={"base": base}
    )
    assert outcome == Outcome(0)
    assert recorded.requests[0]["path"] == "/status"


def test_a_non_2xx_status_fails_with_the_status_and_an_excerpt(server):
    base, _ = server
    outcome, log = run({"method": "GET", "url": base + "/fail"})
    assert outcome.exit_code == 500
    assert (outcome.error or "").startswith("HTTP 500 Internal Server Error")
    assert '"ok": false' in (outcome.error or "")
    assert [lv for lv, _ in log[1:]] == [LogLevel.Error, LogLevel.Error]


def test_the_response_excerpt_is_bounded(server):
    base, _ = server
    outcome, log = run({"method": "GET", "url": base + "/big"})
    assert outcome == Outcome(0)
    excerpt = log[-1][1]
    assert excerpt.startswith("y" * EXCERPT_BYTES) and excerpt.endswith("(truncated)")
    assert len(excerpt) < EXCERPT_BYTES + 20


def test_a_secret_across_the_excerpts_cut_is_masked_not_cut_open(server):
    base, _ = server
    outcome, log = run({"method": "GET", "url": base + "/straddle"})
    assert outcome == Outcome(0)
    excerpt = log[-1][1]
    assert excerpt.startswith("y" * (EXCERPT_BYTES - 5) + "***")
    assert excerpt.endswith("(truncated)") and SECRET[:4] not in excerpt


def test_a_missing_placeholder_value_is_named_and_nothing_is_sent(server):
    base, recorded = server
    outcome, _ = run({"method": "GET", "url": base + "/x?q={{parameters.nope}}"})
    assert outcome.exit_code is None
    assert outcome.error == "program.url: {{parameters.nope}} names no parameter of the job"
    assert recorded.requests == []


def test_a_header_that_a_value_would_split_is_refused(server):
    base, recorded = server
    outcome, _ = run(
        {"method": "GET", "url": base, "headers": {"X-Note": "{{parameters.note}}"}},
        parameters={"note": "a\r\nX-Injected: 1"},
    )
    assert (
        outcome.error
        == "program.headers.X-Note: contains a line break once its placeholders are filled"
    )
    assert recorded.requests == []


def test_a_connection_failure_fails_the_run_without_leaking_the_url_secrets():
    outcome, log = run({"method": "GET", "url": "http://127.0.0.1:9/{{secrets.API_KEY}}"})
    assert outcome.exit_code is None
    assert "ConnectError" in (outcome.error or "")
    assert SECRET not in (outcome.error or "") + str(log)


def test_stop_ends_a_request_in_flight_at_once(server):
    base, recorded = server
    stop = StopSignal()
    # Cancel once the server holds the request: the executor is then waiting on it.
    threading.Thread(target=lambda: recorded.arrived.wait(10) and stop.stop("cancel")).start()
    began = time.monotonic()
    outcome, _ = run({"method": "GET", "url": base + "/slow"}, stop=stop)
    assert time.monotonic() - began < 2
    assert outcome == Outcome(None, "stopped (cancel) before the response")
    assert len(recorded.requests) == 1
