"""Per-host politeness across replicas (agents/sources/shared_gate.py): two page readers, each
with its own gate on its own connection to the machine's Redis, stand for two replicas reading
one loopback host; the host sees one fetch at a time, spaced by the politeness delay."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from agents.netsafe import FetchPolicy
from agents.sources.budget import ReadBudget
from agents.sources.politeness import Gate, HostGate
from agents.sources.reader import PageReader, ReadPolicy
from agents.sources.shared_gate import SharedHostGate
from bench.research_peers import Peer, Response, running_peer
from tests.support.server import free_port

pytestmark = pytest.mark.anyio

LOOPBACK = FetchPolicy(allow_private=True, timeout=5.0)
DELAY = 0.2


@pytest.fixture
async def replicas(redis_url: str) -> AsyncIterator[tuple[Any, Any]]:
    import redis.asyncio as aioredis

    a, b = aioredis.from_url(redis_url), aioredis.from_url(redis_url)
    yield a, b
    await a.aclose()
    await b.aclose()


@pytest.fixture
def host() -> Iterator[Peer]:
    for peer in running_peer():
        peer.answer("/robots.txt", Response(404, "", content_type="text/plain"))
        for i in range(6):
            peer.answer(f"/p{i}", Response(body=f"<p>Page number {i} with some text.</p>",
                                           content_type="text/html", delay=0.05))  # fmt: skip
        yield peer


def name() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


async def read_from_both(host: Peer, gates: tuple[Gate, Gate], pages: int) -> list[float]:
    """Each reader (replica) reads its half of the pages, all at once; the start times the
    host saw, in order."""
    policy = ReadPolicy(per_host=1, delay=DELAY)
    async with httpx.AsyncClient(trust_env=False) as one, httpx.AsyncClient(trust_env=False) as two:
        readers = [
            PageReader(c, fetch_policy=LOOPBACK, policy=policy, gate=g)
            for c, g in zip((one, two), gates, strict=True)
        ]
        budgets = [ReadBudget(), ReadBudget()]
        reads = await asyncio.gather(
            *(
                readers[i % 2].read(f"{host.url}/p{i}", budgets[i % 2], provider="t")
                for i in range(pages)
            )
        )
    assert all(r.source is not None for r in reads), [r.notice for r in reads]
    return sorted(r.at for r in host.requests if r.path.startswith("/p"))


async def test_two_replicas_space_their_fetches_of_one_host_by_the_delay(
    host: Peer, replicas: tuple[Any, Any]
) -> None:
    tag = name()
    gates = (
        SharedHostGate(replicas[0], tag, per_host=1, delay=DELAY),
        SharedHostGate(replicas[1], tag, per_host=1, delay=DELAY),
    )
    starts = await read_from_both(host, gates, pages=4)
    assert len(starts) == 4 and host.peak == 1
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(gap >= DELAY for gap in gaps), gaps


async def test_gates_of_their_own_let_two_replicas_fetch_at_once(host: Peer) -> None:
    """What the shared gate replaces: each replica's own gate spaces only its own fetches."""
    gates = (HostGate(per_host=1, delay=DELAY), HostGate(per_host=1, delay=DELAY))
    starts = await read_from_both(host, gates, pages=4)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) < DELAY, gaps


async def test_the_host_concurrency_holds_across_replicas(replicas: tuple[Any, Any]) -> None:
    tag = name()
    gates = [SharedHostGate(r, tag, per_host=2, delay=0.0) for r in replicas]
    active = peak = 0

    async def fetch(gate: SharedHostGate) -> None:
        nonlocal active, peak
        async with gate.slot("example.org"):
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.05)
            active -= 1

    await asyncio.gather(*(fetch(gates[i % 2]) for i in range(8)))
    assert peak == 2
    # Every host has its own slots: with both of example.org's held, another host's is free.
    async with gates[0].slot("example.org"), gates[1].slot("example.org"):
        async with asyncio.timeout(2):
            async with gates[0].slot("other.example"):
                pass


async def test_a_lease_of_a_replica_that_died_ends_by_itself(replicas: tuple[Any, Any]) -> None:
    tag = name()
    dead = SharedHostGate(replicas[0], tag, per_host=1, delay=0.0, lease=1.0)
    alive = SharedHostGate(replicas[1], tag, per_host=1, delay=0.0, lease=1.0)
    held = dead.slot("example.org")
    await held.__aenter__()  # never released: the replica died mid-fetch
    loop = asyncio.get_running_loop()
    began = loop.time()
    async with alive.slot("example.org"):
        waited = loop.time() - began
    assert waited >= 0.5, "the slot was held"


async def test_a_crawl_delay_spaces_the_replicas_fetches_further(
    replicas: tuple[Any, Any],
) -> None:
    tag = name()
    gates = [SharedHostGate(r, tag, per_host=1, delay=0.0) for r in replicas]
    for gate in gates:
        gate.set_crawl_delay("example.org", 0.3)
    loop = asyncio.get_running_loop()
    starts: list[float] = []

    async def fetch(gate: SharedHostGate) -> None:
        async with gate.slot("example.org"):
            starts.append(loop.time())

    await asyncio.gather(fetch(gates[0]), fetch(gates[1]))
    assert starts[1] - starts[0] >= 0.25, starts


async def test_without_redis_the_gate_keeps_politeness_in_this_process(host: Peer) -> None:
    import redis.asyncio as aioredis

    down = aioredis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    gate = SharedHostGate(down, name(), per_host=1, delay=DELAY)
    policy = ReadPolicy(per_host=1, delay=DELAY)
    async with httpx.AsyncClient(trust_env=False) as client:
        reader = PageReader(client, fetch_policy=LOOPBACK, policy=policy, gate=gate)
        budget = ReadBudget()
        reads = await asyncio.gather(
            *(reader.read(f"{host.url}/p{i}", budget, provider="t") for i in range(3))
        )
    await down.aclose()
    assert all(r.source is not None for r in reads)
    starts = sorted(r.at for r in host.requests if r.path.startswith("/p"))
    assert host.peak == 1
    assert all(b - a >= DELAY for a, b in itertools.pairwise(starts))
