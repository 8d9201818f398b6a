"""The web pages: server-rendered HTML with a little of our own JavaScript, no CDN.

`mount(app)` adds the pages and their static files to the API's FastAPI application;
the API's `create_app` calls it last, after setting `app.state.system`, `.tokens` and
`.clock`.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from interfaces.web import (
    auth,
    bulk,
    clone_rerun,
    dashboard,
    history,
    job_list,
    jobs,
    notifications,
    runs,
    triggers,
)
from interfaces.web.render import STATIC_DIR, STATIC_PREFIX


def mount(app: FastAPI) -> None:
    """Add the pages, their error pages and /assets to `app`."""
    auth.install_error_pages(app)
    app.include_router(auth.router)
    app.include_router(dashboard.router)
    app.include_router(bulk.router)
    app.include_router(job_list.router)
    app.include_router(jobs.router)
    app.include_router(triggers.router)
    app.include_router(history.router)
    app.include_router(runs.router)
    app.include_router(notifications.router)
    app.include_router(clone_rerun.router)
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="web-assets")
