"""Test doubles for the deploy tests: a stand-in runtime repo and a minimal gateway router.

The runtime double speaks the generated runtime's HTTP contract (GET /health, POST /invoke) with
the standard library only; the router double forwards /apps/<app>/invoke to the registered
upstream, like the local gateway does.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

RUNTIME_SERVE = """
import argparse, json, os, pathlib, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = pathlib.Path("VERSION").read_text().strip()

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        if self.path == "/health":
            self._send(200, {"status": "ok", "version": VERSION,
                             "model": os.environ.get("OPENAI_MODEL")})
        else:
            self._send(404, {"error": "not_found"})
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        text = str(body.get("input", ""))
        if text.startswith("sleep:"):
            time.sleep(float(text.split(":", 1)[1]))
        self._send(200, {"output": VERSION + ":" + text, "pid": os.getpid()})

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
ThreadingHTTPServer(("127.0.0.1", p.parse_args().port), H).serve_forever()
"""


def write_runtime_repo(root: Path, version: str) -> Path:
    """A repository with a stand-in runtime answering `<version>:<input>`."""
    (root / "runtime").mkdir(parents=True, exist_ok=True)
    (root / "runtime" / "__init__.py").write_text("")
    (root / "runtime" / "serve.py").write_text(RUNTIME_SERVE)
    (root / "VERSION").write_text(version + "\n")
    (root / "README.md").write_text(f"# app {version}\n")
    (root / "cdk.out").mkdir(exist_ok=True)
    (root / "cdk.out" / "manifest.json").write_text("{}")  # build output: must not be committed
    return root


class RouterDouble:
    """A minimal local gateway: a routing table and an HTTP proxy for /apps/<app>/invoke."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[str, str, str]] = {}
        self.history: list[tuple[str, str | None]] = []
        router = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                parts = self.path.strip("/").split("/")
                route = router.routes.get(parts[1]) if len(parts) == 3 else None
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if route is None or parts[0] != "apps" or parts[2] != "invoke":
                    self._reply(404, b'{"error":"no such app"}')
                    return
                resp = httpx.post(
                    f"{route[0]}/invoke",
                    content=body,
                    headers={"content-type": "application/json"},
                    timeout=30,
                )
                self._reply(resp.status_code, resp.content)

            def _reply(self, code: int, data: bytes) -> None:
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    async def register(
        self, app_id: str, upstream_url: str, workspace_id: str, project_id: str
    ) -> None:
        self.routes[app_id] = (upstream_url, workspace_id, project_id)
        self.history.append((app_id, upstream_url))

    async def unregister(self, app_id: str) -> None:
        self.routes.pop(app_id, None)
        self.history.append((app_id, None))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def invoke(url: str, text: str) -> dict[str, object]:
    resp = httpx.post(url, json={"input": text}, timeout=30)
    resp.raise_for_status()
    body: dict[str, object] = json.loads(resp.content)
    return body
