"""Jobs are durable workflows: steps are checkpointed, a killed server's job resumes on restart,
shutdown leaves jobs to be recovered, and cancel of a finished job changes nothing."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from agents.protocol import Scope
from tests.conftest import make_settings, mint
from tests.support.pipelines import (
    as_wiring,
    default_pipelines,
    forever,
    settle,
    stepped,
    stepped_messages,
)
from tests.support.replicas import SqliteReplica
from tests.support.server import run_server
from tests.support.wsclient import RESEARCH, Outcome, read_all, run

pytestmark = pytest.mark.anyio


async def test_a_stepped_job_streams_every_step_once(tmp_path: Path) -> None:
    pipelines = {**default_pipelines(), "research": stepped(steps=3, events=2, delay=0.0)}
    with run_server(make_settings(tmp_path), as_wiring(pipelines)) as srv:
        key = mint(srv, Scope.UCT)
        out = await run(f"{srv.ws}/research?api_key={key}", RESEARCH)
    assert [e["message"] for e in out.events] == stepped_messages(3, 2)
    assert out.seqs() == list(range(1, len(out.events) + 1))
    assert out.close_code == 1000


async def test_a_killed_server_resumes_its_job_on_restart(sqlite_replica: SqliteReplica) -> None:
    first = Outcome()
    async with connect(sqlite_replica.ws()) as ws:
        await ws.send(json.dumps(RESEARCH))
        await read_all(ws, first, limit=6)  # inside step s1
        sqlite_replica.kill()
        await read_all(ws, first)
    job_id = first.events[0]["job_id"]
    since = first.seqs()[-1]
    sqlite_replica.start()
    rest = await asyncio.wait_for(
        run(sqlite_replica.ws(query=f"&job_id={job_id}&since={since}")), timeout=30
    )
    sqlite_replica.stop()
    events = first.events + rest.events
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1)), "no gap, no repeat"
    resumed = [e for e in rest.events if e.get("resumed")]
    assert len(resumed) == 1 and resumed[0]["step"] in {"s1", "s2"}
    assert settle(events) == stepped_messages(4, 3)
    assert rest.close_code == 1000


async def test_shutdown_closes_1001_and_the_next_start_resumes_the_job(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    pipelines = {**default_pipelines(), "research": forever()}
    out = Outcome()
    with run_server(settings, as_wiring(pipelines)) as srv:
        key = mint(srv, Scope.UCT)
        async with connect(f"{srv.ws}/research?api_key={key}") as ws:
            await ws.send(json.dumps(RESEARCH))
            await read_all(ws, out, limit=2)
            srv.server.should_exit = True
            await read_all(ws, out)
    assert out.close_code == 1001
    job_id = out.events[0]["job_id"]
    replay = Outcome()
    with run_server(settings, as_wiring(pipelines)) as srv:
        async with connect(f"{srv.ws}/research?api_key={key}&job_id={job_id}&since=0") as ws:
            while not any(e.get("resumed") for e in replay.events):
                await asyncio.wait_for(read_all(ws, replay, limit=len(replay.events) + 1), 15)
            await ws.send(json.dumps({"type": "cancel"}))
            await asyncio.wait_for(read_all(ws, replay), 15)
    assert replay.events[0]["message"] == "started"
    assert replay.seqs() == list(range(1, len(replay.events) + 1))
    assert replay.events[-1]["error"] == "CANCELLED"
    assert "SERVER_SHUTDOWN" not in {e.get("error") for e in replay.events}


async def test_cancel_of_a_finished_job_changes_nothing(tmp_path: Path) -> None:
    with run_server(make_settings(tmp_path), as_wiring(default_pipelines())) as srv:
        key = mint(srv, Scope.UCT)
        out = await run(f"{srv.ws}/research?api_key={key}", RESEARCH)
        job_id = out.events[0]["job_id"]
        assert srv.call(srv.services.runner.cancel(job_id, "ws1")) is True
        replay = await run(f"{srv.ws}/research?api_key={key}&job_id={job_id}&since=0")
    assert [e["seq"] for e in replay.events] == out.seqs()
    assert replay.close_code == 1000 and replay.events[-1]["type"] == "status"


@pytest.mark.parametrize(
    ("poll", "delay"),
    [("30", "0.05"), ("0.2", "1.0")],
    ids=["seen-at-a-step-boundary", "seen-by-the-cancel-watch"],
)
async def test_a_cancel_recorded_only_in_the_engine_ends_the_job(
    tmp_path: Path, poll: str, delay: str
) -> None:
    """What a cancel sent to another replica looks like here: only the engine knows of it."""
    settings = make_settings(tmp_path, QUBITZ_JOB_CANCEL_POLL_SECONDS=poll)
    pipelines = {**default_pipelines(), "research": stepped(4, 2, delay=float(delay))}
    with run_server(settings, as_wiring(pipelines)) as srv:
        key = mint(srv, Scope.UCT)
        out = Outcome()
        async with connect(f"{srv.ws}/research?api_key={key}") as ws:
            await ws.send(json.dumps(RESEARCH))
            await read_all(ws, out, limit=1)
            sent = time.monotonic()
            srv.call(srv.services.runner.engine.cancel(out.events[0]["job_id"]))
            await asyncio.wait_for(read_all(ws, out), 10)
            took = time.monotonic() - sent
    assert out.events[-1]["error"] == "CANCELLED"
    assert out.close_code == 1000
    assert out.seqs() == list(range(1, len(out.events) + 1))
    assert took < 5


async def test_resuming_a_job_no_engine_will_ever_run_ends_instead_of_polling(
    tmp_path: Path,
) -> None:
    """A job row left "running" with no workflow behind it (e.g. written by an older version)."""
    from server.eventlog import JobMeta

    with run_server(make_settings(tmp_path), as_wiring(default_pipelines())) as srv:
        key = mint(srv, Scope.UCT)
        jobs = srv.services.runner._jobs
        srv.call(jobs.write_batch([JobMeta("job_orphan", "ws1", "research", "gone")], [], []))
        started = time.monotonic()
        out = await asyncio.wait_for(
            run(f"{srv.ws}/research?api_key={key}&job_id=job_orphan&since=0"), 20
        )
    assert out.close_code == 1011
    assert out.events[-1]["error"] == "JOB_LOST"
    assert time.monotonic() - started < 10
