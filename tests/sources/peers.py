"""A loopback HTTP peer for the search backends: answers from a script, records requests.

`Peer.answer(path, *responses)` queues responses for a path (the last one repeats); every
request is recorded with its query, headers and JSON body. It speaks plain HTTP/1.1 on an
ephemeral 127.0.0.1 port, as the providers' documented APIs do over TLS.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Response:
    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str = "application/json"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    at: float = 0.0  # time.monotonic() when the request arrived


class Peer:
    def __init__(self) -> None:
        self.routes: dict[str, list[Response]] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self.active = 0
        self.peak = 0  # most requests in flight at once
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                with peer._lock:
                    peer.active += 1
                    peer.peak = max(peer.peak, peer.active)
                    peer.requests.append(
                        Seen(self.command, parts.path, parse_qs(parts.query),
                             {k.lower(): v for k, v in self.headers.items()}, body,
                             time.monotonic())
                    )  # fmt: skip
                    queue = peer.routes.get(parts.path)
                    response = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else None
                if response is None:
                    response = Response(404, {"detail": "no such route"})
                if response.delay:
                    time.sleep(response.delay)
                with peer._lock:
                    peer.active -= 1
                payload = response.body
                if isinstance(payload, dict | list):
                    data = json.dumps(payload).encode()
                elif isinstance(payload, str):
                    data = payload.encode()
                else:
                    data = payload
                try:
                    self.send_response(response.status)
                    self.send_header("Content-Type", response.content_type)
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in response.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = _serve
            do_POST = _serve

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str, *responses: Response) -> Peer:
        with self._lock:
            self.routes[path] = list(responses)
        return self

    def hits(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def start(self) -> Peer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def running_peer() -> Iterator[Peer]:
    peer = Peer().start()
    try:
        yield peer
    finally:
        peer.stop()
