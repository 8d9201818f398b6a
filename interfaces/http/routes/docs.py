"""/openapi.json and /docs, behind a token like everything but /healthz.

/docs is a server-rendered page (no CDN, works offline) listing every operation with its
parameters and statuses; the OpenAPI document itself is the full reference. With the web
pages installed it is one of them (their header, styles and API link, interfaces.web.docs_page);
without them, a plain page of the same facts.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from interfaces.http.auth import Viewer
from interfaces.http.responses import OrjsonResponse

router = APIRouter(include_in_schema=False)


@router.get("/openapi.json")
def openapi(request: Request, _principal: Viewer) -> Response:
    return OrjsonResponse(request.app.openapi())


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request, _principal: Viewer) -> HTMLResponse:
    spec = request.app.openapi()
    try:
        from interfaces.web.docs_page import docs_page
    except ImportError:  # an API without the web pages
        return HTMLResponse(render_docs(spec))
    return docs_page(request, spec)


def render_docs(spec: dict[str, Any]) -> str:
    info = spec.get("info", {})
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>{escape(info.get('title', 'API'))} API</title>",
        "<style>body{font:15px/1.45 system-ui,sans-serif;max-width:60em;margin:2em auto;"
        "padding:0 1em}code,pre{font:13px ui-monospace,monospace}h2{margin-top:2em}"
        ".op{border-top:1px solid #ddd;padding:.6em 0}.m{font-weight:bold;display:inline-block;"
        "width:4.5em}</style></head><body>",
        f"<h1>{escape(info.get('title', 'API'))} API {escape(str(info.get('version', '')))}</h1>",
        "<p>Send <code>Authorization: Bearer &lt;token&gt;</code> with every request but "
        "<code>/healthz</code>. Errors are RFC 9457 problem details naming the field at fault. "
        'The machine-readable reference is <a href="/openapi.json">/openapi.json</a>.</p>',
    ]
    for path, operations in spec.get("paths", {}).items():
        for method, op in operations.items():
            params = ", ".join(
                f"<code>{escape(p['name'])}</code> ({escape(p['in'])})"
                for p in op.get("parameters", [])
            )
            statuses = ", ".join(escape(code) for code in op.get("responses", {}))
            parts.append(
                f"<div class=op><span class=m>{escape(method.upper())}</span>"
                f"<code>{escape(path)}</code> — {escape(op.get('summary', ''))}"
                + (f"<br><small>{escape(op['description'])}</small>" if "description" in op else "")
                + (f"<br><small>parameters: {params}</small>" if params else "")
                + f"<br><small>statuses: {statuses}</small></div>"
            )
    parts.append("</body></html>")
    return "".join(parts)
