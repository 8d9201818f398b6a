"""A real `jobledger serve` process and a real headless Chromium (Debian's), per session.

The browser is the system's own chromium driven by Playwright, never a downloaded one. If
it is missing the tests fail, saying how to install it: a browser test that skips would
hide a page that no longer works.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
JOBLEDGER = [sys.executable, "-m", "interfaces.cli.main"]
START_SECONDS = 60.0


def chromium_path() -> str:
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    pytest.fail(
        "the browser tests need Debian's chromium at /usr/bin/chromium "
        "(`apt-get install -y chromium`; .ci/run installs it when missing)",
        pytrace=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A running `jobledger serve`, its address, first admin token and output."""

    process: subprocess.Popen[str]
    env: dict[str, str]
    url: str = ""
    admin_token: str = ""
    lines: list[str] = field(default_factory=list)
    _ready: threading.Event = field(default_factory=threading.Event)

    def read_output(self) -> None:
        assert self.process.stdout is not None
        expect_token = False
        for line in self.process.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            if expect_token:
                self.admin_token = line.strip()
                expect_token = False
            elif "administrator token" in line:
                expect_token = True
            elif line.startswith("JobLedger listening on "):
                # "JobLedger listening on http://HOST:PORT" and maybe more words after it.
                self.url = line.removeprefix("JobLedger listening on ").split()[0].rstrip("/")
                self._ready.set()
        self._ready.set()  # the process ended: stop waiting

    def output(self) -> str:
        return "\n".join(self.lines)

    def token(self, role: str, name: str) -> str:
        """A new token from the command line, as an administrator would make one."""
        done = subprocess.run(
            [*JOBLEDGER, "tokens", "create", "--role", role, "--name", name],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1].strip()

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=30,
        )


@contextmanager
def serving(data_dir: Path, **settings: str) -> Iterator[Server]:
    """A `jobledger serve` on a free port with its own data directory (and `settings` as
    more environment), ready once /healthz answers 200; stopped on leaving."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("JOBLEDGER_DATABASE_URL", "JOBLEDGER_MASTER_KEY")
    }
    env.update(JOBLEDGER_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1", **settings)
    port = free_port()
    process = subprocess.Popen(
        [*JOBLEDGER, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = Server(process=process, env=env)
    reader = threading.Thread(target=running.read_output, daemon=True)
    reader.start()
    try:
        running._ready.wait(START_SECONDS)
        if not running.url:
            pytest.fail(f"`jobledger serve` did not start:\n{running.output()}", pytrace=False)
        assert running.admin_token, f"no first administrator token printed:\n{running.output()}"
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            try:
                if httpx.get(running.url + "/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("jobledger-browser")) as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            # As root (CI containers) Chromium refuses to start with its sandbox.
            args=["--no-sandbox"] if os.geteuid() == 0 else [],
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Recorded:
    """Every response a page received, with its body, to search for things never sent.

    A body must be read as it arrives (Chromium forgets it on the next navigation). A
    live log stream's body is never complete while the page is open: its URL is kept so
    the test can read the same stream itself.
    """

    bodies: list[tuple[str, bytes]] = field(default_factory=list)
    streams: list[str] = field(default_factory=list)
    unread: list[tuple[str, str]] = field(default_factory=list)

    def on_response(self, response: Any) -> None:
        if 300 <= response.status < 400:
            return  # redirects have no body
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            self.streams.append(response.url)
            return
        try:
            self.bodies.append((response.url, response.body()))
        except Exception as error:  # noqa: BLE001 - reported by the test that reads them
            self.unread.append((response.url, str(error)))


@pytest.fixture
def context(browser: Any, server: Server) -> Iterator[Any]:
    made = browser.new_context(base_url=server.url)
    made.set_default_timeout(15_000)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def recorded(context: Any) -> Recorded:
    record = Recorded()
    context.on("response", record.on_response)
    return record
