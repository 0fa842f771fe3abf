"""Job limits across replicas: a global cap and a per-workspace quota queue jobs (with position
events), a full queue refuses with 1013, and a queued job starts when a slot frees up."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from agents.protocol import Scope
from tests.conftest import make_settings, mint
from tests.support.pipelines import as_wiring, default_pipelines, forever
from tests.support.server import run_server
from tests.support.wsclient import RESEARCH, Outcome, read_all, run

pytestmark = pytest.mark.anyio


async def _first(ws, out: Outcome) -> None:  # type: ignore[no-untyped-def]
    await asyncio.wait_for(read_all(ws, out, limit=len(out.events) + 1), 10)
    assert out.close_code is None, out


async def _started(ws, out: Outcome) -> None:  # type: ignore[no-untyped-def]
    while not any(e.get("message") == "started" for e in out.events):
        await _first(ws, out)


async def test_over_the_global_cap_a_job_queues_then_runs_and_a_full_queue_closes_1013(
    tmp_path: Path,
) -> None:
    settings = make_settings(
        tmp_path,
        QUBITZ_JOB_GLOBAL_CAP="1",
        QUBITZ_JOB_QUEUE_MAX="1",
        QUBITZ_KEEPALIVE_INTERVAL="0.2",
        QUBITZ_JOB_QUEUE_POLL_SECONDS="0.05",
    )
    pipelines = {**default_pipelines(), "research": forever()}
    with run_server(settings, as_wiring(pipelines)) as srv:
        key = mint(srv, Scope.UCT)
        running, waiting = Outcome(), Outcome()
        async with (
            connect(f"{srv.ws}/research?api_key={key}") as first,
            connect(f"{srv.ws}/research?api_key={key}") as second,
        ):
            await first.send(json.dumps(RESEARCH))
            await _started(first, running)
            await second.send(json.dumps(RESEARCH))
            await _first(second, waiting)
            refused = await run(f"{srv.ws}/research?api_key={key}", RESEARCH)
            await first.send(json.dumps({"type": "cancel"}))
            await asyncio.wait_for(read_all(first, running), 10)
            await _started(second, waiting)
            await second.send(json.dumps({"type": "cancel"}))
            await asyncio.wait_for(read_all(second, waiting), 10)
    queued = waiting.events[0]
    assert queued["type"] == "status" and queued["queued"] is True
    assert queued["queue_position"] == 1 and "seq" not in queued
    assert refused.close_code == 1013 and refused.events[0]["error"] == "OVERLOADED"
    logged = [e for e in waiting.events if "seq" in e]
    assert [e["seq"] for e in logged] == list(range(1, len(logged) + 1))
    assert logged[-1]["error"] == "CANCELLED"


async def test_a_workspace_over_its_quota_waits_while_another_workspace_runs(
    tmp_path: Path,
) -> None:
    settings = make_settings(
        tmp_path, QUBITZ_JOB_WORKSPACE_QUOTA="1", QUBITZ_JOB_QUEUE_POLL_SECONDS="0.05"
    )
    pipelines = {**default_pipelines(), "research": forever()}
    with run_server(settings, as_wiring(pipelines)) as srv:
        alpha = mint(srv, Scope.UCT, workspace="alpha")
        beta = mint(srv, Scope.UCT, workspace="beta")
        outs = [Outcome(), Outcome(), Outcome()]
        async with (
            connect(f"{srv.ws}/research?api_key={alpha}") as a1,
            connect(f"{srv.ws}/research?api_key={alpha}") as a2,
            connect(f"{srv.ws}/research?api_key={beta}") as b1,
        ):
            await a1.send(json.dumps(RESEARCH))
            await _started(a1, outs[0])
            await a2.send(json.dumps(RESEARCH))
            await _first(a2, outs[1])
            await b1.send(json.dumps(RESEARCH))
            await _started(b1, outs[2])
            # the waiting job is cancelled (and ended) first: cancelling alpha's running job
            # at the same time would free the slot and let the waiting one start
            await a2.send(json.dumps({"type": "cancel"}))
            await asyncio.wait_for(read_all(a2, outs[1]), 10)
            for ws in (a1, b1):
                await ws.send(json.dumps({"type": "cancel"}))
            for ws, out in ((a1, outs[0]), (b1, outs[2])):
                await asyncio.wait_for(read_all(ws, out), 10)
    assert outs[1].events[0].get("queued") is True, "alpha's second job waits for its first"
    assert "started" not in [e.get("message") for e in outs[1].events[:-1]]
    assert outs[1].events[-1]["error"] == "CANCELLED"


async def test_without_the_queue_one_workspace_cannot_hold_every_slot_of_a_replica(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, QUBITZ_JOB_WORKSPACE_RUNNING="2")
    pipelines = {**default_pipelines(), "research": forever()}
    with run_server(settings, as_wiring(pipelines)) as srv:
        alpha = mint(srv, Scope.UCT, workspace="alpha")
        beta = mint(srv, Scope.UCT, workspace="beta")
        outs = [Outcome(), Outcome(), Outcome()]
        async with (
            connect(f"{srv.ws}/research?api_key={alpha}") as a1,
            connect(f"{srv.ws}/research?api_key={alpha}") as a2,
            connect(f"{srv.ws}/research?api_key={beta}") as b1,
        ):
            for ws, out in zip((a1, a2, b1), outs, strict=True):
                await ws.send(json.dumps(RESEARCH))
                await _started(ws, out)
            refused = await asyncio.wait_for(
                run(f"{srv.ws}/research?api_key={alpha}", RESEARCH), 10
            )
            for ws, out in zip((a1, a2, b1), outs, strict=True):
                await ws.send(json.dumps({"type": "cancel"}))
                await asyncio.wait_for(read_all(ws, out), 10)
            # a slot of alpha's is free again once one of its jobs has ended
            again = Outcome()
            async with connect(f"{srv.ws}/research?api_key={alpha}") as a3:
                await a3.send(json.dumps(RESEARCH))
                await _started(a3, again)
                await a3.send(json.dumps({"type": "cancel"}))
                await asyncio.wait_for(read_all(a3, again), 10)
    assert refused.close_code == 1013 and refused.events[0]["error"] == "OVERLOADED"
    assert "workspace" in refused.events[0]["message"]
    assert all(out.events[-1]["error"] == "CANCELLED" for out in [*outs, again])
