"""Serve the runtime over HTTP with the standard library: python -m runtime.serve --port N.

POST /invoke (and each gateway target path) with {"input": ..., "session_id": ...};
GET /health. Prints "listening on http://HOST:PORT" once ready (port 0 picks a free one).
"""

from __future__ import annotations

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .app import App, build_app

MAX_BODY = 1_000_000


def make_handler(app: App) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "agent-runtime/1.0"

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/health":
                self._send(
                    200, {"status": "ok", "agents": sorted(app.spec.agents), "paths": app.paths()}
                )
            else:
                self._send(404, {"error": f"no such path {self.path}"})

        def do_POST(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY:
                self._send(400 if length < 0 else 413, {"error": "bad or too large Content-Length"})
                return
            body = self.rfile.read(length) if length else b""
            # The local gateway sets this header from the verified key (and drops a client's).
            caller = self.headers.get("x-qubitz-api-key-id") or None
            status, payload = app.invoke(self.path.split("?")[0], body, caller=caller)
            self._send(status, payload)

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m runtime.serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    app = build_app()
    server = ThreadingHTTPServer((args.host, args.port), make_handler(app))
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
