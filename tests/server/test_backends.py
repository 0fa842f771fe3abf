"""Production backends: PostgreSQL for everything, Redis Streams for several replicas."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from agents.protocol import Scope
from tests.conftest import make_settings, mint
from tests.support.pipelines import as_wiring, default_pipelines, ticker
from tests.support.replicas import start_replica
from tests.support.server import free_port, run_server
from tests.support.wsclient import RESEARCH, Outcome, read_all, run

pytestmark = pytest.mark.anyio


@pytest.mark.postgres
async def test_postgres_runs_jobs_and_resumes(tmp_path: Path, pg_url: str) -> None:
    settings = make_settings(tmp_path, QUBITZ_DATABASE_URL=pg_url)
    with run_server(settings, as_wiring(default_pipelines())) as srv:
        key = mint(srv, Scope.UCT)
        out = await run(f"{srv.ws}/research?api_key={key}", RESEARCH)
        await asyncio.sleep(0.2)
    assert out.close_code == 1000 and len(out.events) == 5
    # a new process (fresh memory) replays the job from PostgreSQL
    with run_server(settings, as_wiring(default_pipelines())) as srv:
        replay = await run(
            f"{srv.ws}/research?api_key={key}&job_id={out.events[0]['job_id']}&since=2"
        )
    assert replay.seqs() == [3, 4, 5]
    assert replay.close_code == 1000


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_job_on_one_replica_is_followed_live_from_another(
    tmp_path: Path, pg_url: str, redis_url: str
) -> None:
    gate = asyncio.Event()
    pipelines = {**default_pipelines(), "research": ticker(8, delay=0.05, gate=gate)}
    env = {"QUBITZ_DATABASE_URL": pg_url, "QUBITZ_REDIS_URL": redis_url}
    port = free_port()
    # one durable engine per process: replica b is a process of its own
    b = start_replica(
        tmp_path / "b", port, {**os.environ, **env, "QUBITZ_REPLICA_ID": "b"}, "forever"
    )
    try:
        with run_server(make_settings(tmp_path / "a", **env), as_wiring(pipelines)) as a:
            key = mint(a, Scope.UCT)
            first = Outcome()
            async with connect(f"{a.ws}/research?api_key={key}") as ws:
                await ws.send(json.dumps(RESEARCH))
                await read_all(ws, first, limit=2)
            job_id = first.events[0]["job_id"]
            await asyncio.sleep(0.3)  # persisted to Redis
            follow = Outcome()
            url = f"ws://127.0.0.1:{port}/research?api_key={key}&job_id={job_id}&since=2"
            async with connect(url) as ws:
                a.loop.call_soon_threadsafe(gate.set)  # the rest happens on replica a, live
                await read_all(ws, follow)
    finally:
        b.terminate()
        b.wait(10)
    assert follow.seqs() == [3, 4, 5, 6, 7, 8]
    assert [e["message"] for e in follow.events] == [f"step {i}" for i in range(3, 9)]
    assert follow.close_code == 1000
