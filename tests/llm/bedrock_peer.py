"""A loopback HTTP server speaking Bedrock ConverseStream: AWS event-stream binary framing.

Each message: prelude (total length, headers length, CRC32 of those 8 bytes), headers
(name length u8, name, type 7 = string, value length u16, value), JSON payload, CRC32 of all
preceding bytes. Events carry `:message-type: event` + `:event-type`; in-stream errors carry
`:message-type: exception` + `:exception-type`. Initial errors are HTTP statuses with the error
code in `x-amzn-ErrorType`.
"""

from __future__ import annotations

import asyncio
import json
import struct
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    raw_headers = b""
    for name, value in headers.items():
        n, v = name.encode(), value.encode()
        raw_headers += struct.pack(">B", len(n)) + n + b"\x07" + struct.pack(">H", len(v)) + v
    total = 12 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + raw_headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def event(name: str, payload: dict[str, Any]) -> bytes:
    return encode_message(
        {":event-type": name, ":content-type": "application/json", ":message-type": "event"},
        json.dumps(payload).encode(),
    )


def exception(name: str, message: str) -> bytes:
    return encode_message(
        {
            ":exception-type": name,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        json.dumps({"message": message}).encode(),
    )


@dataclass
class Reply:
    status: int = 200
    error_code: str = ""
    messages: list[bytes] = field(default_factory=list)


@dataclass
class SeenRequest:
    path: str
    body: dict[str, Any]


class BedrockPeer:
    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[SeenRequest] = []
        self._server: asyncio.Server | None = None

    @property
    def endpoint_url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def __aenter__(self) -> BedrockPeer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await reader.readline()).decode()
            if not line:
                return
            _method, path, _ = line.split(" ", 2)
            headers: dict[str, str] = {}
            while (h := (await reader.readline()).decode()) not in ("\r\n", "\n", ""):
                k, _, v = h.partition(":")
                headers[k.strip().lower()] = v.strip()
            n = int(headers.get("content-length", "0"))
            body = json.loads(await reader.readexactly(n)) if n else {}
            self.requests.append(SeenRequest(path, body))
            reply = self.replies.popleft()
            if reply.status != 200:
                payload = json.dumps({"message": f"{reply.error_code} from loopback"}).encode()
                head = (
                    f"HTTP/1.1 {reply.status} Error\r\ncontent-type: application/json\r\n"
                    f"x-amzn-ErrorType: {reply.error_code}:http://internal.amazon.com/\r\n"
                    f"x-amzn-RequestId: loopback\r\n"
                    f"content-length: {len(payload)}\r\nconnection: close\r\n\r\n"
                )
                writer.write(head.encode() + payload)
            else:
                data = b"".join(reply.messages)
                head = (
                    "HTTP/1.1 200 OK\r\ncontent-type: application/vnd.amazon.eventstream\r\n"
                    f"x-amzn-RequestId: loopback\r\ncontent-length: {len(data)}\r\n"
                    "connection: close\r\n\r\n"
                )
                writer.write(head.encode() + data)
            await writer.drain()
        finally:
            writer.close()


def text_reply(*chunks: str, input_tokens: int = 20, output_tokens: int = 5) -> Reply:
    msgs = [event("messageStart", {"role": "assistant"})]
    msgs.append(event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": chunks[0]}}))
    for c in chunks[1:]:
        msgs.append(event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": c}}))
    msgs.append(event("contentBlockStop", {"contentBlockIndex": 0}))
    msgs.append(event("messageStop", {"stopReason": "end_turn"}))
    msgs.append(metadata(input_tokens, output_tokens))
    return Reply(messages=msgs)


def metadata(input_tokens: int, output_tokens: int, cache_read: int = 0) -> bytes:
    return event(
        "metadata",
        {
            "usage": {
                "inputTokens": input_tokens,
                "outputTokens": output_tokens,
                "totalTokens": input_tokens + output_tokens,
                "cacheReadInputTokens": cache_read,
                "cacheWriteInputTokens": 0,
            },
            "metrics": {"latencyMs": 12},
        },
    )


def tool_reply(name: str, *json_chunks: str) -> Reply:
    msgs = [
        event("messageStart", {"role": "assistant"}),
        event(
            "contentBlockStart",
            {
                "contentBlockIndex": 0,
                "start": {"toolUse": {"toolUseId": "tooluse_1", "name": name}},
            },
        ),
    ]
    for c in json_chunks:
        msgs.append(
            event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": c}}})
        )
    msgs.append(event("contentBlockStop", {"contentBlockIndex": 0}))
    msgs.append(event("messageStop", {"stopReason": "tool_use"}))
    msgs.append(metadata(30, 9))
    return Reply(messages=msgs)
