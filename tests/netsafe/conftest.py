"""A tiny HTTP/1.1 server on 127.0.0.1 (port 0) with the routes the fetch tests need."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class LoopbackServer:
    port: int
    hosts_seen: list[str] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


async def _respond(
    writer: asyncio.StreamWriter, status: str, body: bytes, headers: dict[str, str] | None = None
) -> None:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    await writer.drain()


async def _handle(
    server: LoopbackServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        target = lines[0].split(" ")[1]
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (line.partition(":") for line in lines[1:] if line)
        }
        server.hosts_seen.append(headers.get("host", ""))
        parts = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/ok":
            await _respond(
                writer, "200 OK", b"# Report\n\nhello", {"Content-Type": "text/markdown"}
            )
        elif parts.path == "/host":
            await _respond(writer, "200 OK", headers.get("host", "").encode())
        elif parts.path == "/redirect":
            await _respond(writer, "302 Found", b"", {"Location": query["to"]})
        elif parts.path == "/loop":
            await _respond(writer, "302 Found", b"", {"Location": "/loop"})
        elif parts.path == "/big-declared":
            await _respond(writer, "200 OK", b"x" * int(query["n"]))
        elif parts.path == "/big-undeclared":
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
            for _ in range(int(query["n"]) // 1024):
                writer.write(b"y" * 1024)
                await writer.drain()
        elif parts.path == "/stall":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
            await writer.drain()
            await asyncio.sleep(30)
        elif parts.path == "/latin1":
            await _respond(
                writer,
                "200 OK",
                "café".encode("latin-1"),
                {"Content-Type": "text/plain; charset=iso-8859-1"},
            )
        else:
            await _respond(writer, "404 Not Found", b"missing")
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


@pytest.fixture
async def loopback_server() -> AsyncIterator[LoopbackServer]:
    holder: list[LoopbackServer] = []
    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)  # type: ignore[arg-type]
        try:
            await _handle(holder[0], reader, writer)
        finally:
            handlers.discard(task)  # type: ignore[arg-type]

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    holder.append(LoopbackServer(port=srv.sockets[0].getsockname()[1]))
    try:
        yield holder[0]
    finally:
        srv.close()
        for task in list(handlers):
            task.cancel()
        await srv.wait_closed()
