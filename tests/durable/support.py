"""Recovery of real product pipelines: run a job on a server, stop the server while a chosen
step is held (the job is left to the engine, as a killed replica's would be), start a server
on the same data again and let the engine recover the job there.

The test doubles (scripted models, stores) live in the test process across both servers, like
a model provider and a database would, so their counters show which steps ran again.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from agents.artifacts import StoredArtifact
from agents.llm.port import LLM, CompletionRequest, ForwardingLLM, LLMEvent
from agents.pipeline import Pipeline
from agents.protocol import Scope
from server.settings import Settings
from server.storage.local import LocalArtifactStore
from tests.conftest import mint
from tests.support.pipelines import as_wiring, default_pipelines
from tests.support.server import run_server
from tests.support.wsclient import Outcome, read_all


@dataclass
class Hold:
    """Holds every call that `matches` until released (a threading gate: the servers run on
    their own loops); `reached` is set once a call is held."""

    matches: Callable[[CompletionRequest], bool] = lambda _request: True
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    times: int = 1  # how many matching calls are held (later ones pass)

    async def wait(self) -> None:
        if self.times <= 0:
            return
        self.times -= 1
        self.reached.set()
        while not self.released.is_set():  # noqa: ASYNC110 (set from the test's thread)
            await asyncio.sleep(0.01)


@dataclass
class HeldLLM(ForwardingLLM):
    inner: LLM
    hold: Hold = field(default_factory=Hold)

    async def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        if self.hold.matches(request):
            await self.hold.wait()
        async for event in self.inner.stream(request):
            yield event


class CountingStore(LocalArtifactStore):
    """The local artifact store, counting puts per key."""

    def __init__(self, root: Path, base_url: str) -> None:
        super().__init__(root, base_url)
        self.puts: dict[str, int] = {}

    async def put(self, key: str, data: bytes, content_type: str) -> StoredArtifact:
        self.puts[key] = self.puts.get(key, 0) + 1
        return await super().put(key, data, content_type)


def wiring(endpoint: str, pipeline: Pipeline) -> Any:
    return as_wiring({**default_pipelines(), endpoint: pipeline})


@dataclass
class Recovered:
    first: Outcome  # what the client saw before the server stopped
    rest: Outcome  # what it saw after resuming with job_id + since on the next server

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.first.events + self.rest.events

    def resumed(self) -> list[dict[str, Any]]:
        return [e for e in self.events if _field(e, "resumed")]


def _field(event: dict[str, Any], name: str) -> Any:
    return event.get(
        name, event.get("data", {}).get(name) if isinstance(event.get("data"), dict) else None
    )


def resumed_step(event: dict[str, Any]) -> str:
    return str(_field(event, "step"))


async def stop_while_held(
    settings: Settings,
    pipeline_wiring: Any,
    endpoint: str,
    payload: dict[str, Any],
    hold: threading.Event,
    *,
    scope: Scope,
) -> tuple[Outcome, str]:
    """Start the job, wait until `hold` is reached, stop the server; (events seen, key)."""
    out = Outcome()
    with run_server(settings, pipeline_wiring) as srv:
        key = mint(srv, scope)
        async with connect(f"{srv.ws}/{endpoint}?api_key={key}", max_size=None) as ws:
            await ws.send(json.dumps(payload))
            reader = asyncio.ensure_future(read_all(ws, out))
            while not hold.is_set():
                if reader.done():
                    raise AssertionError(f"the job ended before the held step: {out.events}")
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)  # the held step's first events reach the client
            srv.server.should_exit = True
            await asyncio.wait_for(reader, 30)
    assert out.close_code == 1001, out.close_code
    return out, key


async def resume_after_restart(
    settings: Settings, pipeline_wiring: Any, endpoint: str, first: Outcome, key: str
) -> Recovered:
    job_id = first.events[0]["job_id"]
    since = first.seqs()[-1]
    rest = Outcome()
    with run_server(settings, pipeline_wiring) as srv:
        url = f"{srv.ws}/{endpoint}?api_key={key}&job_id={job_id}&since={since}"
        async with connect(url, max_size=None) as ws:
            await asyncio.wait_for(read_all(ws, rest), 60)
    return Recovered(first, rest)


def assert_whole(recovered: Recovered) -> None:
    """Every event once, `seq` contiguous from 1, one `resumed` status, closed 1000."""
    seqs = [e["seq"] for e in recovered.events]
    assert seqs == list(range(1, len(seqs) + 1)), "no gap, no repeat"
    assert len(recovered.resumed()) == 1, recovered.resumed()
    assert recovered.rest.close_code == 1000
