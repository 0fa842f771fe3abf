"""Socket rules around a job: idle timeout despite keepalives, strict `since` parsing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from agents.protocol import Scope
from tests.conftest import make_settings, mint
from tests.support.pipelines import as_wiring, default_pipelines, quiet
from tests.support.server import RunningServer, run_server
from tests.support.wsclient import RESEARCH, run

pytestmark = pytest.mark.anyio


async def test_idle_timeout_fires_on_a_subscribed_socket_that_only_gets_keepalives(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, QUBITZ_KEEPALIVE_INTERVAL="0.1", QUBITZ_IDLE_TIMEOUT="0.6")
    pipelines = {**default_pipelines(), "research": quiet(5.0)}
    with run_server(settings, as_wiring(pipelines)) as srv:
        key = mint(srv, Scope.UCT)
        started = time.monotonic()
        out = await run(f"{srv.ws}/research?api_key={key}", RESEARCH)
        took = time.monotonic() - started
    assert out.close_code == 1000 and out.close_reason == "idle timeout"
    assert [e["type"] for e in out.events].count("keepalive") >= 2
    assert took < 5, "closed by the idle timeout, not by the job's end"


@pytest.mark.parametrize("since", ["²", "-1", "1.5", "abc", "٣"])
async def test_a_since_that_is_not_a_plain_whole_number_closes_1007(
    server: RunningServer, since: str
) -> None:
    key = mint(server, Scope.UCT)
    out = await run(f"{server.ws}/research?api_key={key}", RESEARCH)
    job_id = out.events[0]["job_id"]
    got = await run(f"{server.ws}/research?api_key={key}&job_id={job_id}&since={since}")
    assert got.close_code == 1007
    assert got.events[0]["error"] == "INVALID_REQUEST"
    assert "since" in got.events[0]["message"]


async def test_a_repeated_idempotency_key_returns_the_first_job(server: RunningServer) -> None:
    key = mint(server, Scope.UCT)
    other = mint(server, Scope.UCT, workspace="elsewhere")
    payload = {**RESEARCH, "idempotency_key": "order-42"}
    first = await run(f"{server.ws}/research?api_key={key}", payload)
    again = await run(f"{server.ws}/research?api_key={key}", payload)
    fresh = await run(f"{server.ws}/research?api_key={key}", {**payload, "idempotency_key": "x"})
    theirs = await run(f"{server.ws}/research?api_key={other}", payload)
    assert first.close_code == again.close_code == 1000
    assert again.events == first.events, "the same job, replayed"
    assert fresh.events[0]["job_id"] != first.events[0]["job_id"]
    assert theirs.events[0]["job_id"] != first.events[0]["job_id"], "keys are per workspace"


async def test_an_invalid_idempotency_key_closes_1007(server: RunningServer) -> None:
    key = mint(server, Scope.UCT)
    out = await run(f"{server.ws}/research?api_key={key}", {**RESEARCH, "idempotency_key": 5})
    assert out.close_code == 1007
    assert "idempotency_key" in out.events[0]["message"]


async def test_resuming_a_job_pruned_by_retention_answers_job_expired(tmp_path: Path) -> None:
    from datetime import timedelta

    from server.db.base import utcnow

    with run_server(make_settings(tmp_path), as_wiring(default_pipelines())) as srv:
        key = mint(srv, Scope.UCT)
        out = await run(f"{srv.ws}/research?api_key={key}", RESEARCH)
        job_id = out.events[0]["job_id"]
        await asyncio.sleep(0.2)
        jobs = srv.services.runner._jobs
        expired = srv.call(jobs.expire_finished(utcnow() + timedelta(seconds=1)))
        kept = srv.call(jobs.events(job_id, 0))
    assert expired == [job_id] and kept == []
    with run_server(make_settings(tmp_path), as_wiring(default_pipelines())) as srv:
        got = await run(f"{srv.ws}/research?api_key={key}&job_id={job_id}&since=0")
    assert got.close_code == 1007
    assert got.events == [
        {"type": "error", "error": "JOB_EXPIRED", "message": got.events[0]["message"]}
    ]
