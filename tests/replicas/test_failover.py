"""Three replicas behind HAProxy on PostgreSQL and Redis: a killed replica's jobs finish on
another, cancel works from any replica, chaos (random SIGKILLs) and a rolling restart lose and
duplicate nothing."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.replicas.cluster import Cluster, JobTrace, follow_job, running_cluster
from tests.support.pipelines import settle, stepped_messages
from tests.support.wsclient import RESEARCH

pytestmark = [pytest.mark.anyio, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
EXPECTED = stepped_messages(4, 3)


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str, redis_url: str) -> Iterator[Cluster]:
    with running_cluster(tmp_path, pg_url, redis_url) as running:
        yield running


def assert_whole(trace: JobTrace) -> None:
    logged = trace.logged()
    assert [e["seq"] for e in logged] == list(range(1, len(logged) + 1)), trace
    assert settle(trace.events) == EXPECTED, trace
    assert trace.closes[-1] == 1000


async def test_a_killed_replicas_job_finishes_on_another(cluster: Cluster) -> None:
    owner = cluster.replicas[0]
    trace = JobTrace()
    async with connect(f"{owner.ws}/research?api_key={cluster.key}") as ws:
        await ws.send(json.dumps(RESEARCH))
        while len(trace.events) < 5:
            trace.events.append(json.loads(await ws.recv()))
    killed_at = time.monotonic()
    cluster.kill(owner)
    trace.closes.append(None)
    done = await follow_job(
        f"{cluster.lb}/research?api_key={cluster.key}&job_id={trace.job_id}&since={trace.last_seq}",
        cluster.lb,
        cluster.key,
        {},
        trace=trace,
        deadline=60,
    )
    assert_whole(done)
    resumed = [e for e in done.events if e.get("resumed")]
    assert len(resumed) == 1
    assert time.monotonic() - killed_at < 30


async def test_cancel_sent_to_another_replica_ends_the_job_within_two_seconds(
    cluster: Cluster,
) -> None:
    owner, other = cluster.replicas[0], cluster.replicas[1]
    events: list[dict[str, object]] = []
    async with connect(f"{owner.ws}/research?api_key={cluster.key}") as ws:
        await ws.send(json.dumps(RESEARCH))
        events.append(json.loads(await ws.recv()))
        job_id = events[0]["job_id"]
        url = f"{other.ws}/research?api_key={cluster.key}&job_id={job_id}&since=1"
        async with connect(url) as elsewhere:
            sent = time.monotonic()
            await elsewhere.send(json.dumps({"type": "cancel"}))
            async for raw in ws:
                events.append(json.loads(raw))
            took = time.monotonic() - sent
            assert ws.close_code == 1000
    assert events[-1]["error"] == "CANCELLED"
    assert "total 6" not in [e.get("message") for e in events]
    assert took < 2.0, f"cancel took {took:.2f}s"


async def test_http_cancel_on_another_replica_ends_the_job(cluster: Cluster) -> None:
    """`qubitz jobs cancel` (POST /v1/jobs/{id}/cancel) works whichever replica answers it."""
    owner, other = cluster.replicas[0], cluster.replicas[2]
    events: list[dict[str, object]] = []
    async with connect(f"{owner.ws}/research?api_key={cluster.key}") as ws:
        await ws.send(json.dumps(RESEARCH))
        events.append(json.loads(await ws.recv()))
        job_id = events[0]["job_id"]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{other.port}") as http:
            sent = time.monotonic()
            answer = await http.post(
                f"/v1/jobs/{job_id}/cancel", headers={"Authorization": f"Bearer {cluster.key}"}
            )
            async for raw in ws:
                events.append(json.loads(raw))
            took = time.monotonic() - sent
            state = (
                await http.get(f"/v1/jobs/{job_id}", headers={"X-API-Key": cluster.key})
            ).json()
    assert answer.status_code == 202, answer.text
    assert events[-1]["error"] == "CANCELLED" and ws.close_code == 1000
    assert took < 2.0, f"cancel took {took:.2f}s"
    assert state["state"] == "cancelled"


async def test_chaos_random_kills_lose_and_duplicate_nothing(cluster: Cluster) -> None:
    rng = random.Random(14)
    jobs = 20
    done: list[JobTrace] = []

    async def one(i: int) -> None:
        await asyncio.sleep(i * 0.3)
        done.append(await follow_job(cluster.lb, cluster.lb, cluster.key, RESEARCH, deadline=120))

    async def chaos() -> None:
        for _ in range(4):
            await asyncio.sleep(rng.uniform(1.0, 2.5))
            victim = rng.choice([r for r in cluster.replicas if r.alive])
            cluster.kill(victim)
            await asyncio.sleep(rng.uniform(0.2, 1.0))
            await asyncio.to_thread(cluster.start, victim)

    await asyncio.wait_for(asyncio.gather(chaos(), *(one(i) for i in range(jobs))), 180)
    assert len(done) == jobs
    for trace in done:
        assert_whole(trace)
    assert sum(t.reconnects for t in done) > 0, "the kills hit running jobs"


async def test_rolling_restart_hands_jobs_over(cluster: Cluster) -> None:
    traces: list[JobTrace] = []

    async def one(i: int) -> None:
        await asyncio.sleep(i * 0.2)
        traces.append(await follow_job(cluster.lb, cluster.lb, cluster.key, RESEARCH))

    async def roll() -> None:
        await asyncio.sleep(1.0)
        for replica in cluster.replicas:
            await asyncio.to_thread(cluster.terminate, replica)
            await asyncio.to_thread(cluster.start, replica)

    await asyncio.wait_for(asyncio.gather(roll(), *(one(i) for i in range(6))), 150)
    for trace in traces:
        assert_whole(trace)
    assert 1001 in {c for t in traces for c in t.closes}, "sockets were told to go away"
