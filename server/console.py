"""The web console (clients/web) at `/` and the JavaScript client (clients/js) at `/js/`.

Only the files present when the routes are built are served, each on its own route, so the
console never shadows another route contributed by the wiring (artifacts, gateway). Responses carry
an explicit content type, `nosniff`, and a Content-Security-Policy that allows this origin's
scripts and styles only (no inline script), WebSocket connections, and fetching reports from
http(s) URLs (S3 buckets need CORS for that; the local artifact store is same-origin).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

CONTENT_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".ts": "application/typescript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".md": "text/markdown; charset=utf-8",
}

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss: http: https:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

_CLIENTS = "clients"


def default_clients_dir() -> Path:
    """clients/ beside the source tree, else ./clients (a non-editable install, e.g. Docker)."""
    beside = Path(__file__).resolve().parent.parent / _CLIENTS
    if (beside / "web" / "index.html").is_file():
        return beside
    return Path.cwd() / _CLIENTS


def content_type_for(name: str) -> str | None:
    if name.endswith(".d.ts"):
        return CONTENT_TYPES[".ts"]
    return CONTENT_TYPES.get(Path(name).suffix.lower())


def _servable(folder: Path) -> list[Path]:
    """Files directly in `folder` with a known content type (no dot-files, no subfolders)."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and content_type_for(p.name) is not None
    )


def _file_endpoint(path: Path) -> Callable[[Request], Coroutine[Any, Any, Response]]:
    media_type = content_type_for(path.name)

    async def serve(request: Request) -> Response:
        try:
            stat = await asyncio.to_thread(path.stat)
        except OSError:
            return Response("Not Found", status_code=404, media_type="text/plain")
        response = FileResponse(path, stat_result=stat, media_type=media_type, headers=HEADERS)
        etag = response.headers.get("etag")
        if_none_match = request.headers.get("if-none-match")
        if etag and if_none_match and etag in (t.strip() for t in if_none_match.split(",")):
            return Response(status_code=304, headers={"etag": etag, **HEADERS})
        return response

    return serve


def console_routes(clients_dir: Path | None = None) -> list[BaseRoute]:
    """GET routes for the console page (`/`, `/<file>`) and the JS client (`/js/<file>`)."""
    root = clients_dir or default_clients_dir()
    web, js = root / "web", root / "js"
    routes: list[BaseRoute] = []
    index = web / "index.html"
    if index.is_file():
        routes.append(Route("/", _file_endpoint(index), methods=["GET", "HEAD"], name="console"))
    for path in _servable(web):
        routes.append(Route(f"/{path.name}", _file_endpoint(path), methods=["GET", "HEAD"]))
    for path in _servable(js):
        routes.append(Route(f"/js/{path.name}", _file_endpoint(path), methods=["GET", "HEAD"]))
    return routes
