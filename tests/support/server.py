"""A real qubitz server on 127.0.0.1 (ephemeral port), in a thread of the test process."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn

from server.app import create_app
from server.serve import _Server, uvicorn_config
from server.settings import Settings


@dataclass
class RunningServer:
    settings: Settings
    port: int
    server: uvicorn.Server
    loop: asyncio.AbstractEventLoop

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def services(self) -> Any:
        return self.server.lifespan.state["services"]  # what the app's lifespan yielded

    def call(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the server's loop (e.g. to mint a key)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def run_server(settings: Settings, wiring: Any = None) -> Iterator[RunningServer]:
    port = free_port()
    settings = settings.with_overrides(port=port, host="127.0.0.1")
    app = create_app(settings, wiring=wiring)
    config = uvicorn_config(settings, app)
    config.log_level = "warning"
    server = _Server(config)
    loop_box: dict[str, asyncio.AbstractEventLoop] = {}

    def target() -> None:
        loop = asyncio.new_event_loop()
        loop_box["loop"] = loop
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.serve())
        loop.close()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield RunningServer(settings, port, server, loop_box["loop"])
    finally:
        server.should_exit = True
        thread.join(timeout=30)
