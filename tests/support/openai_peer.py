"""An OpenAI-compatible chat-completions server on loopback that streams scripted answers.

Built from the documented wire format (what agents/llm/openai_compat.py speaks):
`POST /v1/chat/completions` with `"stream": true` answers `text/event-stream`, one
`chat.completion.chunk` per `data:` line (`choices[0].delta.content`), a last chunk with
`finish_reason`, a usage chunk (`choices: []`, `usage`) when `stream_options.include_usage`,
then `data: [DONE]`; `GET /v1/models` lists the model. Each answer's text comes from
`respond(body)`; every request body is recorded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Respond = Callable[[dict[str, Any]], str]


@dataclass
class OpenAIPeer:
    model: str
    base_url: str = ""  # http://127.0.0.1:<port>/v1
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def schema_name(body: dict[str, Any]) -> str | None:
    """The structured-output schema a request asks for (None: a text answer)."""
    fmt = body.get("response_format") or {}
    return (fmt.get("json_schema") or {}).get("name") if fmt.get("type") == "json_schema" else None


def last_user_message(body: dict[str, Any]) -> str:
    users = [m["content"] for m in body.get("messages", []) if m.get("role") == "user"]
    return str(users[-1]) if users else ""


@contextmanager
def openai_peer(
    respond: Respond, *, model: str = "peer-model", chunk: int = 24
) -> Iterator[OpenAIPeer]:
    peer = OpenAIPeer(model)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.rstrip("/") != "/v1/models":
                self.send_error(404)
                return
            self._json(200, {"object": "list", "data": [{"id": model, "object": "model"}]})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with peer.lock:
                peer.requests.append(body)
            if self.path != "/v1/chat/completions":
                self._json(404, {"error": {"message": f"no route {self.path}"}})
                return
            try:
                text = respond(body)
            except Exception as exc:  # the client sees a server error, as from a real server
                self._json(500, {"error": {"message": f"peer: {exc!r}", "type": "server_error"}})
                return
            if not body.get("stream"):
                message = {"role": "assistant", "content": text}
                choice = {"index": 0, "message": message, "finish_reason": "stop"}
                self._json(200, {"object": "chat.completion", "model": model, "choices": [choice]})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()  # HTTP/1.0: the stream ends when the connection closes
            for i in range(0, len(text), chunk):
                self._event({"choices": [{"index": 0, "delta": {"content": text[i : i + chunk]}}]})
            self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            if (body.get("stream_options") or {}).get("include_usage"):
                prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
                usage = {"prompt_tokens": prompt // 4 + 1, "completion_tokens": len(text) // 4 + 1}
                usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
                self._event({"choices": [], "usage": usage})
            self.wfile.write(b"data: [DONE]\n\n")

        def _event(self, payload: dict[str, Any]) -> None:
            chunk = {"id": "chatcmpl-peer", "object": "chat.completion.chunk", "model": model}
            self.wfile.write(b"data: " + json.dumps({**chunk, **payload}).encode() + b"\n\n")

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    peer.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield peer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
