"""Servers the WebSocket benchmark measures, each run as its own process.

python -m bench.ws_servers bare PORT N        bare Starlette: N small JSON messages per socket
python -m bench.ws_servers qubitz PORT DATA   qubitz with benchmark pipelines
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from agents.pipeline import JobContext
from agents.protocol import ChatChunk, Event, StatusEvent
from server.composition import Wired


def bare_app(count: int) -> Starlette:
    """`count` events per request, or as many as a numeric prompt says."""

    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        request = json.loads(await ws.receive_text())
        prompt = request["prompt"]
        for i in range(int(prompt) if prompt.isdigit() else count):
            await ws.send_text(
                json.dumps(
                    {"type": "status", "message": f"step {i}", "session_id": request["session_id"]}
                )
            )
        await ws.close(1000)

    return Starlette(routes=[WebSocketRoute("/research", handler)])


def events(count: int) -> Any:
    async def run(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
        prompt = request.prompt
        for i in range(int(prompt) if prompt.isdigit() else count):
            yield StatusEvent(message=f"step {i}", session_id=request.session_id)

    return run


def idle_job() -> Any:
    async def run(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
        yield StatusEvent(message="waiting", session_id="idle")
        await asyncio.sleep(3600)
        yield StatusEvent(message="done", session_id="idle")

    return run


def token_stream(tokens: int, rate: float) -> Any:
    """Chat-shaped: `tokens` chunks at `rate` per second; each carries its due time."""

    async def run(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(tokens):
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            yield ChatChunk(
                chunk=f"{i}:{time.time():.4f} ", is_final=False, session_id=request.session_id
            )
        yield ChatChunk(chunk="", is_final=True, session_id=request.session_id)

    return run


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    config_kw: dict[str, Any] = dict(
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        lifespan="on",
        loop="uvloop",
        http="httptools",
        backlog=4096,
    )
    if kind == "bare":
        uvicorn.run(bare_app(int(sys.argv[3])), **config_kw)
        return
    from server.app import create_app
    from server.serve import _Server, uvicorn_config
    from server.settings import load_settings

    count = 2000
    settings = load_settings(data_dir=Path(sys.argv[3]), port=port, host="127.0.0.1")
    pipelines = {"research": events(count), "getspec": idle_job(), "chat": token_stream(100, 100.0)}

    @contextlib.asynccontextmanager
    async def wiring(_infra: Any) -> AsyncIterator[Wired]:
        yield Wired(pipelines=pipelines)  # these benchmark pipelines instead of the product's

    config = uvicorn_config(settings, create_app(settings, wiring=wiring))
    config.log_level = "warning"
    config.backlog = 4096
    _Server(config).run()


if __name__ == "__main__":
    main()
