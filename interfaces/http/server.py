"""Running the app under uvicorn: in the foreground (`jobledger api`) or in a background
thread beside the scheduler, workers and projections (`jobledger serve`, tests)."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn
from fastapi import FastAPI

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def _config(app: FastAPI, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        # Streams (live logs) are closed at once on shutdown rather than waited for.
        timeout_graceful_shutdown=2,
        server_header=False,
    )


def serve_forever(
    app: FastAPI, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, log_level: str = "info"
) -> None:
    """Serve in this thread until SIGINT or SIGTERM (uvicorn handles both)."""
    uvicorn.Server(_config(app, host, port, log_level)).run()


def serve_processes(
    factory: str, host: str, port: int, workers: int, log_level: str = "info"
) -> None:
    """Serve with `workers` processes, each building its app with `factory` ("module:func"):
    one Python process is bound to one core by its interpreter lock."""
    uvicorn.run(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=2,
        server_header=False,
    )


class BackgroundServer:
    """uvicorn in a daemon thread; `start` returns once it listens, `stop` shuts it down."""

    def __init__(
        self,
        app: FastAPI,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        log_level: str = "warning",
    ) -> None:
        self.server = uvicorn.Server(_config(app, host, port, log_level))
        # uvicorn listens for signals only in the main thread: in this one it leaves them
        # to the caller, which stops it with `stop`.
        self.thread = threading.Thread(target=self.server.run, name="http", daemon=True)

    @property
    def port(self) -> int:
        """The port it listens on (the real one when started with port 0)."""
        servers: Any = getattr(self.server, "servers", [])
        for server in servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return int(self.server.config.port)

    @property
    def url(self) -> str:
        return f"http://{self.server.config.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(
                    f"the HTTP server could not start on "
                    f"{self.server.config.host}:{self.server.config.port}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError("the HTTP server did not start in time")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
