"""The app as uvicorn builds it in each of several worker processes (`jobledger api
--workers N`): each process opens its own store connections and views from the environment."""

from __future__ import annotations

from fastapi import FastAPI

from interfaces.bootstrap import build
from interfaces.http.app import create_app
from interfaces.settings import Settings


def app_from_env() -> FastAPI:
    # The parent process (`jobledger api`) checked that the store exists: never create one.
    system = build(Settings.from_env(), create=False)
    return create_app(system, system.backend.token_store())
