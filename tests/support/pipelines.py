"""Small pipelines for testing the service core (not product code)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from agents.errors import QubitzError
from agents.pipeline import JobContext, Pipeline
from agents.protocol import (
    ApiKeyCreated,
    ApiKeyCreatedData,
    ApiKeyDeleted,
    ApiKeyDeletedData,
    ArchitectureData,
    ArchitectureEvent,
    Complete,
    DeploymentStarted,
    DeploymentStartedData,
    Event,
    StatusEvent,
)
from agents.spec.schema import AgentConfig, Architecture
from bench.ws_servers import chatty, stepped  # one definition each, for bench and tests
from server.composition import Wired


def ticker(count: int = 5, delay: float = 0.0, gate: asyncio.Event | None = None) -> Pipeline:
    """Research-shaped: `count` status events, optionally waiting on `gate` halfway."""

    async def run(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
        for i in range(1, count + 1):
            if gate is not None and i == count // 2 + 1:
                await gate.wait()
            if delay:
                await asyncio.sleep(delay)
            yield StatusEvent(message=f"step {i}", session_id=request.session_id)

    return run


def quiet(seconds: float) -> Pipeline:
    async def run(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
        yield StatusEvent(message="starting", session_id=request.session_id)
        await asyncio.sleep(seconds)
        yield StatusEvent(message="done", session_id=request.session_id)

    return run


def forever() -> Pipeline:
    async def run(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
        yield StatusEvent(message="started", session_id=getattr(request, "session_id", "s"))
        i = 0
        while True:
            await asyncio.sleep(0.05)
            i += 1
            yield StatusEvent(message=f"tick {i}", session_id=getattr(request, "session_id", "s"))

    return run


def raising(exc: Exception) -> Pipeline:
    async def run(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
        yield StatusEvent(message="about to fail", session_id=request.session_id)
        raise exc

    return run


def _arch() -> Architecture:
    return Architecture(
        agents_config={
            "a": AgentConfig(
                name="A",
                description="d",
                model="anthropic.claude-sonnet-4-5-20250929-v1:0",
                prompt="p",
            )
        }
    )


def control_hub_pipelines() -> dict[str, Pipeline]:
    async def spec(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
        yield ArchitectureEvent(
            data=ArchitectureData(
                user_id=request.user_id,
                project_id=request.project_id,
                architecture=_arch(),
                status="pending",
            )
        )

    async def deploy(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
        yield DeploymentStarted(
            data=DeploymentStartedData(
                message="started", user_id=request.user_id, project_id=request.project_id
            )
        )
        yield Complete()

    async def create(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
        yield ApiKeyCreated(
            data=ApiKeyCreatedData(
                api_key_value="v", api_key_id="k", usage_plan_id="p", api_endpoint="e"
            )
        )

    async def delete(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
        yield ApiKeyDeleted(data=ApiKeyDeletedData(api_key_id=request.api_key_id))

    return {
        "getspec": spec,
        "updatespec": spec,
        "deploy": deploy,
        "createapikey": create,
        "deleteapikey": delete,
    }


def settle(events: list[dict[str, Any]]) -> list[str]:
    """What a client keeps of a `stepped` job: on a `resumed` status it drops the events of the
    interrupted step that it already had (docs/protocol.md)."""
    kept: list[str] = []
    for event in events:
        if event.get("resumed"):
            step = str(event["step"])
            while kept and kept[-1].startswith((step + ".", step + " ")):
                kept.pop()
            continue
        if event.get("type") == "status":
            kept.append(str(event["message"]))
    return kept


def stepped_messages(steps: int = 4, events: int = 3) -> list[str]:
    out = [m for i in range(steps) for m in [*(f"s{i}.{j}" for j in range(events)), f"s{i} done"]]
    return [*out, f"total {sum(range(steps))}"]


def default_pipelines() -> dict[str, Pipeline]:
    return {"research": ticker(5), "chat": chatty(5), **control_hub_pipelines()}


def as_wiring(pipelines: dict[str, Pipeline]) -> Callable[[Any], Any]:
    @contextlib.asynccontextmanager
    async def wiring(_core: Any) -> AsyncIterator[Wired]:
        yield Wired(pipelines=pipelines)

    return wiring


__all__ = [
    "QubitzError", "as_wiring", "chatty", "default_pipelines", "forever", "quiet", "raising",
    "stepped", "ticker",
]  # fmt: skip
