"""Servers the WebSocket benchmark measures, each run as its own process.

python -m bench.ws_servers bare PORT N        bare Starlette: N small JSON messages per socket
python -m bench.ws_servers qubitz PORT DATA   qubitz with benchmark pipelines
python -m bench.ws_servers research PORT DATA MODE MODEL_URL
                                              /research on an OpenAI-compatible model at
                                              MODEL_URL, its stages as durable steps (MODE
                                              steps) or run as one step (MODE one-step)
python -m bench.ws_servers replica PORT DATA  one replica of bench/replicas.py (settings from the
                                              environment: PostgreSQL, Redis, replica id)
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

from agents.pipeline import JobContext, Pipeline, StepOutput
from agents.protocol import ChatChunk, ChatStatus, Event, StatusEvent
from server.composition import Wired

RESEARCH_REQUEST = {
    "prompt": "Latest AI Trends 2026",
    "company_name": "BenchCompany",
    "company_url": "https://example.com/",
    "user_id": "bench",
    "session_id": "bench",
}
CHAT_REQUEST = {
    "messages": [{"role": "user", "content": "Summarize"}],
    "report": "# Report\n\nText.",
    "user_id": "bench",
    "session_id": "bench",
}


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

    async def chat(ws: WebSocket) -> None:
        """The token streams of `token_stream` with the same 40 ms coalescing, nothing else:
        no key, no job, no log. What one process here can do at all (bench_ws --streams)."""
        await ws.accept()
        request = json.loads(await ws.receive_text())
        content = request["messages"][-1]["content"]
        session = request["session_id"]

        async def send(chunk: str, final: bool = False) -> None:
            event = {"type": "chat_chunk", "chunk": chunk, "is_final": final, "session_id": session}
            await ws.send_text(json.dumps(event))

        if content.startswith("at:"):
            await ws.send_text(json.dumps({"type": "chat_status", "message": "started"}))
            await hold_until(content)
        loop = asyncio.get_running_loop()
        pending: list[str] = []
        first = 0.0
        async for token in timed_tokens(STREAM_TOKENS, STREAM_RATE):
            if not pending:
                first = loop.time()
            pending.append(token)
            if loop.time() - first >= 0.04:
                await send("".join(pending))
                pending = []
        if pending:
            await send("".join(pending))
        await send("", final=True)
        await ws.close(1000)

    return Starlette(routes=[WebSocketRoute("/research", handler), WebSocketRoute("/chat", chat)])


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


STREAM_TOKENS, STREAM_RATE = 100, 100.0  # bench_ws --streams: 100 tokens at 100 per second


async def hold_until(content: str) -> None:
    """`at:<epoch seconds>`: wait until then (streams started one after another start at once)."""
    await asyncio.sleep(max(0.0, float(content[3:]) - time.time()))


async def timed_tokens(tokens: int, rate: float) -> AsyncIterator[str]:
    """`tokens` tokens at `rate` per second, each `<index>:<its emission time> `."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(tokens):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        yield f"{i}:{time.time():.4f} "


def token_stream(tokens: int, rate: float) -> Any:
    """Chat-shaped: `tokens` chunks at `rate` per second; each carries its emission time. A
    message `at:<epoch seconds>` holds the tokens until then (after one `chat_status` event), so
    that streams started one after another all stream at once."""

    async def run(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
        content = request.messages[-1].content
        if content.startswith("at:"):
            yield ChatStatus(message="started", session_id=request.session_id)
            await hold_until(content)
        async for token in timed_tokens(tokens, rate):
            yield ChatChunk(chunk=token, is_final=False, session_id=request.session_id)
        yield ChatChunk(chunk="", is_final=True, session_id=request.session_id)

    return run


def stepped(steps: int = 4, events: int = 3, delay: float = 0.15) -> Pipeline:
    """Research-shaped, all in durable steps: step `s<i>` sends `s<i>.<j>` (`delay` seconds
    apart) then `s<i> done`; the last event sums the steps' checkpointed outputs (so a replayed
    step still counts). Also the scripted research of tests/replicas and tests/server."""

    async def stage(index: int, session_id: str) -> AsyncIterator[Event | StepOutput]:
        for j in range(events):
            await asyncio.sleep(delay)
            yield StatusEvent(message=f"s{index}.{j}", session_id=session_id)
        yield StatusEvent(message=f"s{index} done", session_id=session_id)
        yield StepOutput(index)

    async def run(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
        total = 0
        for index in range(steps):
            async for item in ctx.step(f"s{index}", stage(index, request.session_id)):
                if isinstance(item, StepOutput):
                    total += int(item.value)
                else:
                    yield item
        yield StatusEvent(message=f"total {total}", session_id=request.session_id)

    return run


def chatty(chunks: int = 5) -> Pipeline:
    """Chat-shaped: a status, `chunks` word chunks at once, the final chunk. Also the scripted
    chat of tests/server."""

    async def run(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
        yield ChatStatus(message="Processing chat request...", session_id=request.session_id)
        for i in range(chunks):
            yield ChatChunk(chunk=f"w{i} ", is_final=False, session_id=request.session_id)
        yield ChatChunk(chunk="", is_final=True, session_id=request.session_id)

    return run


def research(data_dir: Path, mode: str, model_url: str) -> Any:
    """The wiring of `research`: the product pipeline on the loopback model, stub PDFs."""
    import dataclasses

    import httpx

    from agents.llm.openai_compat import OpenAICompatibleLLM
    from agents.llm.port import Role, StaticRegistry
    from agents.pipeline import inline_steps
    from agents.research.config import ResearchLimits
    from agents.research.deps import ResearchDeps
    from agents.research.pipeline import research_pipeline
    from agents.sources.corpus import CorpusProvider
    from bench.bench_research import stub_pdf
    from bench.model_peer import MODEL
    from bench.research_store import MemoryProjectStore
    from server.storage.local import LocalArtifactStore

    @contextlib.asynccontextmanager
    async def wiring(_infra: Any) -> AsyncIterator[Wired]:
        async with httpx.AsyncClient(timeout=60) as http:
            model = OpenAICompatibleLLM(base_url=model_url, model=MODEL, http_client=http)
            deps = ResearchDeps(
                llms=StaticRegistry(default=model, by_role={role: model for role in Role}),
                artifacts=LocalArtifactStore(data_dir / "bench-artifacts", "http://127.0.0.1"),
                sources=[CorpusProvider(None)],
                projects=MemoryProjectStore(),
                limits=ResearchLimits(concurrency=3),
                render_pdf=stub_pdf,
            )
            pipeline = research_pipeline(deps)
            if mode == "steps":
                yield Wired(pipelines={"research": pipeline})
                return

            async def one_step(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
                async for event in pipeline(request, dataclasses.replace(ctx, step=inline_steps)):
                    yield event

            yield Wired(pipelines={"research": one_step})

    return wiring


def serve(settings: Any, pipelines: dict[str, Pipeline] | Any) -> None:
    """Run qubitz with these pipelines (or this wiring) instead of the product's."""
    from server.app import create_app
    from server.serve import _Server, uvicorn_config

    @contextlib.asynccontextmanager
    async def fixed(_infra: Any) -> AsyncIterator[Wired]:
        yield Wired(pipelines=pipelines)

    wiring = fixed if isinstance(pipelines, dict) else pipelines
    config = uvicorn_config(settings, create_app(settings, wiring=wiring))
    config.log_level = "warning"
    config.backlog = 4096
    _Server(config).run()


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
    from server.settings import load_settings

    settings = load_settings(data_dir=Path(sys.argv[3]), port=port, host="127.0.0.1")
    if kind == "replica":
        serve(settings, {"research": stepped(), "chat": chatty()})
        return
    if kind == "research":
        serve(settings, research(Path(sys.argv[3]), sys.argv[4], sys.argv[5]))
        return
    count = 2000
    serve(
        settings,
        {
            "research": events(count),
            "getspec": idle_job(),
            "chat": token_stream(STREAM_TOKENS, STREAM_RATE),
        },
    )


if __name__ == "__main__":
    main()
