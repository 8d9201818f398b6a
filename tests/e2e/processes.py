"""JobLedger processes started by a test, as a deployment starts them: the console script,
its output in files, and an end by pid for whatever the test left running."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

JOBLEDGER = Path(sys.executable).with_name("jobledger")


@dataclass
class Process:
    """One JobLedger process started by this test, its output kept in files."""

    name: str
    popen: subprocess.Popen[bytes]
    out: Path
    err: Path

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def errors(self) -> str:
        return self.err.read_text(errors="replace")

    def tail(self, lines: int = 15) -> str:
        text = self.output() + self.errors()
        return f"--- {self.name} (exit {self.popen.poll()}) ---\n" + "\n".join(
            text.splitlines()[-lines:]
        )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, signum: int) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signum)

    def wait_for_output(self, text: str, deadline: float) -> str:
        while time.monotonic() < deadline:
            for line in (self.output() + self.errors()).splitlines():
                if text in line:
                    return line
            assert self.popen.poll() is None, f"{self.name} exited early\n{self.tail()}"
            time.sleep(0.1)
        raise AssertionError(f"{self.name} never printed {text!r}\n{self.tail()}")

    def wait_exit(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} did not stop\n{self.tail()}") from None


class Starter(Protocol):
    def __call__(self, name: str, *args: str, env: dict[str, str] | None = None) -> Process: ...


@contextmanager
def processes(env: dict[str, str], folder: Path) -> Iterator[Starter]:
    """Start JobLedger commands with `env`; on the way out, kill those still running."""
    started: list[Process] = []

    def start(name: str, *args: str, env: dict[str, str] | None = None) -> Process:
        out, err = folder / f"{name}.out", folder / f"{name}.err"
        # Files, not pipes: a chatty process can never block on a pipe nobody reads.
        with out.open("wb") as stdout, err.open("wb") as stderr:
            popen = subprocess.Popen(
                [str(JOBLEDGER), *args],
                env=env or base_env,
                stdout=stdout,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        process = Process(name, popen, out, err)
        started.append(process)
        return process

    base_env = env
    try:
        yield start
    finally:
        for process in started:  # only ours, by pid
            if process.popen.poll() is None:
                process.popen.kill()
                process.popen.wait(10)


def init_store(env: dict[str, str]) -> None:
    """`jobledger init`: only it and `serve` create a store, so a test that starts other
    processes (`api`, `worker`, `scheduler`, `projections`) or `tokens create` on a fresh
    store runs it first, as a deployment does."""
    done = subprocess.run(
        [str(JOBLEDGER), "init"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


@contextmanager
def served(start: Starter, port: int) -> Iterator[tuple[Process, httpx.Client]]:
    """`jobledger serve` on a fresh store: the process, and a client with the administrator
    token it prints on its first start, once /healthz answers."""
    serve = start("serve", "serve", "--host", "127.0.0.1", "--port", str(port))
    token = serve.wait_for_output("jl_", time.monotonic() + 60).strip()
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    ) as client:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                if client.get("/healthz").status_code == 200:
                    break
            assert time.monotonic() < deadline, serve.tail()
            time.sleep(0.1)
        yield serve, client
