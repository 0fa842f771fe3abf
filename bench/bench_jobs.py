"""Durable jobs: failover time and job start latency on three replicas (PostgreSQL + Redis).

    .venv/bin/python -m bench.bench_jobs --kills 5 --starts 50 --failover 3

Runs three qubitz replicas behind HAProxy, all on loopback (bench/replicas.py; each replica is
`python -m bench.ws_servers replica`, with the scripted pipelines of bench/ws_servers.py):

- failover: a research job of 4 durable steps runs on replica 0, which is SIGKILLed after its
  third event; the figure is kill → the `resumed` event of the replica that took the job over,
  seen by a client resuming through HAProxy. Replica 0 is started again before the next round.
- start latency: connect → first event of a /chat job on one replica (key check, job row,
  workflow start, durable commit of the first event).

Needs QUBITZ_TEST_DATABASE_URL and QUBITZ_TEST_REDIS_URL (as the tests do) and haproxy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from websockets.asyncio.client import connect

from bench import replicas as harness
from bench.ws_servers import CHAT_REQUEST as CHAT
from bench.ws_servers import RESEARCH_REQUEST as RESEARCH


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def failover_once(cluster: harness.Cluster) -> float:
    owner = cluster.replicas[0]
    async with connect(f"{owner.ws}/research?api_key={cluster.key}") as ws:
        await ws.send(json.dumps(RESEARCH))
        events = [json.loads(await ws.recv()) for _ in range(3)]
    job_id, since = events[0]["job_id"], events[-1]["seq"]
    cluster.kill(owner)
    killed = time.monotonic()
    url = f"{cluster.lb}/research?api_key={cluster.key}&job_id={job_id}&since={since}"
    while True:
        try:
            async with connect(url, open_timeout=5) as ws:
                # events committed before the kill come back at once; wait for the new runner's
                while not json.loads(await asyncio.wait_for(ws.recv(), 60)).get("resumed"):
                    pass
                took = time.monotonic() - killed
                break
        except (OSError, TimeoutError):
            await asyncio.sleep(0.05)
    await asyncio.to_thread(cluster.start, owner)
    return took


async def start_latency(cluster: harness.Cluster, samples: int) -> list[float]:
    replica = cluster.replicas[1]
    out = []
    for _ in range(samples):
        started = time.perf_counter()
        async with connect(f"{replica.ws}/chat?api_key={cluster.key}") as ws:
            await ws.send(json.dumps(CHAT))
            await ws.recv()
            out.append((time.perf_counter() - started) * 1000)
            async for _ in ws:
                pass
    return out


async def run(args: argparse.Namespace) -> None:
    base = os.environ["QUBITZ_TEST_DATABASE_URL"]
    name = f"qubitz_bench_{uuid.uuid4().hex[:8]}"
    plain = base.replace("postgresql+asyncpg://", "postgresql://")
    admin = await asyncpg.connect(plain)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            harness.running_cluster(
                Path(tmp),
                base.rsplit("/", 1)[0] + "/" + name,
                os.environ["QUBITZ_TEST_REDIS_URL"],
                failover_seconds=args.failover,
            ) as cluster,
        ):
            latencies = await start_latency(cluster, args.starts)
            failovers = [await failover_once(cluster) for _ in range(args.kills)]
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print(f"failover (QUBITZ_FAILOVER_SECONDS={args.failover}), {args.kills} kills:")
    print(f"  p50 {statistics.median(failovers):.2f} s  p95 {pct(failovers, 0.95):.2f} s")
    print(f"job start, connect -> first event, {args.starts} /chat jobs on PostgreSQL:")
    print(f"  p50 {statistics.median(latencies):.2f} ms  p95 {pct(latencies, 0.95):.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--starts", type=int, default=50)
    parser.add_argument("--failover", type=float, default=3.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
