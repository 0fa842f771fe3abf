"""Payload validation, close codes, resume, cancel, keepalive, coalescing, workspace isolation."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from agents.protocol import Scope
from tests.conftest import make_settings, mint
from tests.support.pipelines import as_wiring, chatty, default_pipelines, forever, quiet, ticker
from tests.support.server import RunningServer, run_server
from tests.support.wsclient import CHAT, RESEARCH, Outcome, read_all, run

pytestmark = pytest.mark.anyio


async def test_bad_json_closes_1007_after_an_error(server: RunningServer) -> None:
    key = mint(server, Scope.UCT)
    out = await run(f"{server.ws}/research?api_key={key}", raw="{not json")
    assert out.close_code == 1007
    assert out.events == [
        {"type": "error", "error": "INVALID_JSON", "message": out.events[0]["message"]}
    ]
    assert "not valid JSON" in out.events[0]["message"]


async def test_unknown_field_is_named(server: RunningServer) -> None:
    key = mint(server, Scope.UCT)
    out = await run(f"{server.ws}/research?api_key={key}", {**RESEARCH, "colour": "blue"})
    assert out.close_code == 1007
    assert out.events[0]["error"] == "INVALID_REQUEST"
    assert "colour: Extra inputs are not permitted" in out.events[0]["message"]


async def test_wrong_type_and_missing_field_are_named(server: RunningServer) -> None:
    key = mint(server, Scope.CONTROL_HUB)
    out = await run(
        f"{server.ws}/getspec?api_key={key}",
        {"user_id": 5, "project_id": "p", "use_case_name": "n"},
    )
    assert out.close_code == 1007
    data = out.events[0]["data"]
    assert data["error"] == "invalid_request"
    assert "user_id: Input should be a valid string" in data["message"]
    assert "use_case_description: Field required" in data["message"]
    assert len(data["details"]) == 2


async def test_chat_needs_exactly_one_report_source(server: RunningServer) -> None:
    key = mint(server, Scope.UCT)
    out = await run(f"{server.ws}/chat?api_key={key}", {**CHAT, "s3_report_url": "http://x/y.md"})
    assert out.close_code == 1007
    assert out.events[0]["type"] == "chat_error"
    assert "exactly one of s3_report_url or report" in out.events[0]["message"]


async def test_oversize_message_closes_1009(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, QUBITZ_MAX_MESSAGE_BYTES="1000")
    with run_server(settings, as_wiring(default_pipelines())) as srv:
        key = mint(srv, Scope.UCT)
        out = await run(f"{srv.ws}/research?api_key={key}", {**RESEARCH, "prompt": "x" * 2000})
    assert out.close_code == 1009
    assert out.events[0]["error"] == "MESSAGE_TOO_LARGE"


async def test_resume_after_drop_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    gate = asyncio.Event()
    pipelines = {**default_pipelines(), "research": ticker(10, gate=gate)}
    with run_server(make_settings(tmp_path), as_wiring(pipelines)) as srv:
        key = mint(srv, Scope.UCT)
        first = Outcome()
        async with connect(f"{srv.ws}/research?api_key={key}") as ws:
            await ws.send(json.dumps(RESEARCH))
            await read_all(ws, first, limit=3)  # then drop the socket mid-job
        job_id = first.events[0]["job_id"]
        srv.loop.call_soon_threadsafe(gate.set)
        await asyncio.sleep(0.2)
        second = await run(f"{srv.ws}/research?api_key={key}&job_id={job_id}&since=3")
        again = Outcome()
        async with connect(f"{srv.ws}/research?api_key={key}") as ws:  # resume by first message
            await ws.send(json.dumps({"resume": {"job_id": job_id, "since": 0}}))
            await read_all(ws, again)
    messages = [e["message"] for e in first.events + second.events]
    assert messages == [f"step {i}" for i in range(1, 11)]
    assert first.seqs() + second.seqs() == list(range(1, 11))
    assert second.close_code == 1000
    assert [e["seq"] for e in again.events] == list(range(1, 11))


async def test_another_workspace_cannot_resume_or_learn_the_job_exists(
    server: RunningServer,
) -> None:
    key1 = mint(server, Scope.UCT, workspace="alpha")
    key2 = mint(server, Scope.UCT, workspace="beta")
    out = await run(f"{server.ws}/research?api_key={key1}", RESEARCH)
    job_id = out.events[0]["job_id"]
    theirs = await run(f"{server.ws}/research?api_key={key2}&job_id={job_id}&since=0")
    missing = await run(f"{server.ws}/research?api_key={key2}&job_id=job_doesnotexist&since=0")
    assert theirs.close_code == missing.close_code == 1007
    assert theirs.events[0]["error"] == missing.events[0]["error"] == "JOB_NOT_FOUND"
    assert theirs.events[0]["message"].replace(job_id, "X") == missing.events[0]["message"].replace(
        "job_doesnotexist", "X"
    )


async def test_cancel_ends_the_job_with_a_cancelled_error(tmp_path: Path) -> None:
    pipelines = {**default_pipelines(), "research": forever()}
    with run_server(make_settings(tmp_path), as_wiring(pipelines)) as srv:
        key = mint(srv, Scope.UCT)
        out = Outcome()
        async with connect(f"{srv.ws}/research?api_key={key}") as ws:
            await ws.send(json.dumps(RESEARCH))
            await read_all(ws, out, limit=2)
            await ws.send(json.dumps({"type": "cancel"}))
            await ws.send(json.dumps({"type": "cancel"}))  # idempotent
            await read_all(ws, out)
        job = srv.call(srv.services.runner.find(out.events[0]["job_id"], "ws1"))
    assert out.events[-1]["error"] == "CANCELLED"
    assert out.close_code == 1000
    assert out.seqs() == list(range(1, len(out.events) + 1))
    await asyncio.sleep(0)
    assert job is not None


async def test_keepalive_is_sent_while_a_job_is_quiet(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, QUBITZ_KEEPALIVE_INTERVAL="0.2")
    pipelines = {**default_pipelines(), "research": quiet(1.0)}
    with run_server(settings, as_wiring(pipelines)) as srv:
        key = mint(srv, Scope.UCT)
        out = await run(f"{srv.ws}/research?api_key={key}", RESEARCH)
        ch = mint(srv, Scope.CONTROL_HUB)
    keepalives = [e for e in out.events if e["type"] == "keepalive"]
    assert len(keepalives) >= 2
    assert isinstance(keepalives[0]["timestamp"], int) and keepalives[0]["message"]
    assert "seq" not in keepalives[0], "keepalives are not part of the job's log"
    assert [e["message"] for e in out.events if e["type"] == "status"] == ["starting", "done"]
    assert ch


async def test_enveloped_keepalive_counts_elapsed_seconds(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, QUBITZ_KEEPALIVE_INTERVAL="0.3")

    async def slow_spec(request, ctx):  # type: ignore[no-untyped-def]
        await asyncio.sleep(1.2)
        async for e in default_pipelines()["getspec"](request, ctx):
            yield e

    pipelines = {**default_pipelines(), "getspec": slow_spec}
    with run_server(settings, as_wiring(pipelines)) as srv:
        key = mint(srv, Scope.CONTROL_HUB)
        out = await run(
            f"{srv.ws}/getspec?api_key={key}",
            {"user_id": "u", "project_id": "p", "use_case_name": "n", "use_case_description": "d"},
        )
    keepalives = [e["data"] for e in out.events if e["type"] == "keepalive"]
    assert keepalives and keepalives[-1]["elapsed_seconds"] >= 0
    assert "Processing in progress" in keepalives[0]["message"]
    assert out.events[-1]["type"] == "architecture"


async def test_token_chunks_are_coalesced_without_losing_text(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, QUBITZ_COALESCE_WINDOW="0.05")
    pipelines = {**default_pipelines(), "chat": chatty(200)}
    with run_server(settings, as_wiring(pipelines)) as srv:
        key = mint(srv, Scope.UCT)
        out = await run(f"{srv.ws}/chat?api_key={key}", CHAT)
    chunks = [e for e in out.events if e["type"] == "chat_chunk"]
    assert "".join(c["chunk"] for c in chunks) == "".join(f"w{i} " for i in range(200))
    assert len(chunks) < 50, "200 tiny chunks arrive as a few larger ones"
    assert chunks[-1]["is_final"] is True
    assert out.seqs() == list(range(1, len(out.events) + 1))


async def test_connection_rate_limit_closes_1013(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, QUBITZ_CONNECT_BURST="2", QUBITZ_CONNECT_RATE_PER_MINUTE="1")
    with run_server(settings, as_wiring(default_pipelines())) as srv:
        key = mint(srv, Scope.UCT)
        codes = [
            (await run(f"{srv.ws}/research?api_key={key}", RESEARCH)).close_code for _ in range(3)
        ]
        other = mint(srv, Scope.UCT)
        fresh = await run(f"{srv.ws}/research?api_key={other}", RESEARCH)
    assert codes == [1000, 1000, 1013]
    assert fresh.close_code == 1000, "the limit is per key"


async def test_failures_map_to_error_events_and_close_codes(tmp_path: Path) -> None:
    from agents.errors import NotFound
    from tests.support.pipelines import raising

    for exc, code, error in (
        (NotFound("no such report"), 1000, "NOT_FOUND"),
        (RuntimeError("boom"), 1011, "INTERNAL_ERROR"),
    ):
        pipelines = {**default_pipelines(), "research": raising(exc)}
        with run_server(make_settings(tmp_path / error), as_wiring(pipelines)) as srv:
            key = mint(srv, Scope.UCT)
            out = await run(f"{srv.ws}/research?api_key={key}", RESEARCH)
        assert out.close_code == code
        assert out.events[-1]["error"] == error
        assert out.events[-1]["session_id"] == RESEARCH["session_id"]
        assert "boom" not in out.events[-1]["message"], "internal details are not leaked"
