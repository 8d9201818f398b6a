"""Running the app under uvicorn: in this thread (`jobledger api`), or in several processes."""

from __future__ import annotations

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
