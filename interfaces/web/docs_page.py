"""The API's /docs as a page like the others: the header, the styles, every operation.

interfaces.http.routes.docs serves /docs and uses this when the pages are installed (an API
without them serves a plain page of the same facts). Nothing comes from a CDN.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from interfaces.web.render import render

METHODS = ("get", "post", "put", "patch", "delete")


def _schema_name(body: dict[str, Any]) -> str:
    """The schema a request body takes, by name ("JobCreate"), or "" if unnamed."""
    for content in body.get("content", {}).values():
        ref = content.get("schema", {}).get("$ref", "")
        if ref:
            return str(ref).rsplit("/", 1)[-1]
    return ""


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every operation of an OpenAPI document, grouped by its first tag, in document order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = op.get("requestBody")
            groups.setdefault((op.get("tags") or ["other"])[0], []).append(
                {
                    "id": op.get("operationId", f"{method}-{path}"),
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": op.get("parameters", []),
                    "body": _schema_name(body) if body else None,
                    "statuses": [
                        (code, response.get("description", ""))
                        for code, response in op.get("responses", {}).items()
                    ],
                }
            )
    return [
        {"tag": tag, "anchor": "api-" + "-".join(tag.split()), "operations": ops}
        for tag, ops in groups.items()
    ]


def docs_page(request: Request, spec: dict[str, Any]) -> HTMLResponse:
    info = spec.get("info", {})
    return render(
        request,
        "docs.html",
        {
            "title": info.get("title", "JobLedger"),
            "version": str(info.get("version", "")),
            "groups": operations(spec),
        },
    )
