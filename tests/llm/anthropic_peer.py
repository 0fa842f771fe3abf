"""A loopback HTTP server speaking Anthropic's Messages streaming wire format (SSE).

Each POST /v1/messages takes the next scripted `Reply`: either an HTTP error (status, headers,
JSON error body) or a stream of SSE events (`event: <type>` / `data: <json>`), optionally paced.
The peer records every request and notices when a client goes away mid-stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None  # for errors
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    pace: float = 0.0  # seconds between events


@dataclass
class SeenRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class AnthropicPeer:
    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[SeenRequest] = []
        self.client_gone = asyncio.Event()
        self.events_sent = 0
        self.stream_finished = asyncio.Event()
        self._server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def __aenter__(self) -> AnthropicPeer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def enqueue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readline()).decode()
            if not request_line:
                return
            _method, path, _version = request_line.split(" ", 2)
            headers: dict[str, str] = {}
            while (line := (await reader.readline()).decode()) not in ("\r\n", "\n", ""):
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            body = json.loads(await reader.readexactly(length)) if length else {}
            self.requests.append(SeenRequest(path, headers, body))
            reply = self.replies.popleft()
            if reply.status != 200:
                await self._send_error(writer, reply)
            else:
                await self._send_stream(reader, writer, reply)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.client_gone.set()
        finally:
            writer.close()

    async def _send_error(self, writer: asyncio.StreamWriter, reply: Reply) -> None:
        payload = json.dumps(reply.body or {}).encode()
        head = [f"HTTP/1.1 {reply.status} Error", "content-type: application/json"]
        head += [f"{k}: {v}" for k, v in reply.headers.items()]
        head += [f"content-length: {len(payload)}", "connection: close", "", ""]
        writer.write("\r\n".join(head).encode() + payload)
        await writer.drain()

    async def _send_stream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, reply: Reply
    ) -> None:
        head = [
            "HTTP/1.1 200 OK",
            "content-type: text/event-stream; charset=utf-8",
            "cache-control: no-cache",
            "request-id: req_loopback",
            "connection: close",
            "",
            "",
        ]
        writer.write("\r\n".join(head).encode())
        await writer.drain()
        watcher = asyncio.create_task(self._watch_eof(reader))
        try:
            for name, data in reply.events:
                if self.client_gone.is_set():
                    return
                writer.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
                await writer.drain()
                self.events_sent += 1
                if reply.pace:
                    # pause between events, but notice at once when the client leaves
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.client_gone.wait(), reply.pace)
            self.stream_finished.set()
        finally:
            watcher.cancel()

    async def _watch_eof(self, reader: asyncio.StreamReader) -> None:
        if await reader.read(1) == b"":
            self.client_gone.set()


# ----------------------------------------------------------------------------- event builders


def message_start(model: str = "claude-sonnet-4-6", **usage: int) -> tuple[str, Any]:
    return (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_loopback",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": usage.get("input_tokens", 25),
                    "output_tokens": 1,
                    "cache_creation_input_tokens": usage.get("cache_creation_input_tokens", 0),
                    "cache_read_input_tokens": usage.get("cache_read_input_tokens", 0),
                },
            },
        },
    )


def text_block(index: int, *chunks: str) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = [
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "text", "text": ""},
            },
        )
    ]
    events.append(("ping", {"type": "ping"}))
    for chunk in chunks:
        events.append(
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "text_delta", "text": chunk},
                },
            )
        )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def tool_use_block(index: int, name: str, *json_chunks: str) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = [
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "tool_use", "id": "toolu_01", "name": name, "input": {}},
            },
        )
    ]
    for chunk in json_chunks:
        events.append(
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": chunk},
                },
            )
        )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def web_search_blocks(
    index: int, query: str, results: list[tuple[str, str]]
) -> list[tuple[str, Any]]:
    """A server_tool_use block (its query streamed as input_json_delta) and its result block."""
    tool_id = "srvtoolu_loopback01"
    encoded = json.dumps({"query": query})
    return [
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {
                    "type": "server_tool_use",
                    "id": tool_id,
                    "name": "web_search",
                    "input": {},
                },
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "input_json_delta", "partial_json": encoded[:10]},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "input_json_delta", "partial_json": encoded[10:]},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": index}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index + 1,
                "content_block": {
                    "type": "web_search_tool_result",
                    "tool_use_id": tool_id,
                    "content": [
                        {
                            "type": "web_search_result",
                            "title": title,
                            "url": url,
                            "encrypted_content": "EqgfCioIARgBIiQ3YTAw",
                            "page_age": "April 30, 2025",
                        }
                        for url, title in results
                    ],
                },
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": index + 1}),
    ]


def message_end(
    stop_reason: str = "end_turn", output_tokens: int = 12, web_search_requests: int = 0
) -> list[tuple[str, Any]]:
    usage: dict[str, Any] = {"output_tokens": output_tokens}
    if web_search_requests:
        usage["server_tool_use"] = {"web_search_requests": web_search_requests}
    return [
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": usage,
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


def error_event(error_type: str, message: str) -> tuple[str, Any]:
    return ("error", {"type": "error", "error": {"type": error_type, "message": message}})


def error_body(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}
