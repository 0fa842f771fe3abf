"""A revoked key's open sockets get an error event and close 1008, on every replica."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from agents.protocol import Scope
from server.settings import Settings
from tests.conftest import make_settings, mint
from tests.support.pipelines import as_wiring, control_hub_pipelines, forever
from tests.support.server import RunningServer, run_server
from tests.support.wsclient import RESEARCH, Outcome, read_all

pytestmark = pytest.mark.anyio


def _pipelines() -> dict[str, Any]:
    return {"research": forever(), "chat": forever(), **control_hub_pipelines()}


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[RunningServer]:
    settings: Settings = make_settings(tmp_path / "data")
    with run_server(settings, as_wiring(_pipelines())) as s:
        yield s


async def _stream_until_closed(url: str, revoke: Any) -> Outcome:
    async with connect(url, open_timeout=10) as ws:
        await ws.send(json.dumps(RESEARCH))
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert first["type"] == "status"
        await revoke()
        out = await asyncio.wait_for(read_all(ws, Outcome()), 10)
    return out


def _key_id(server: RunningServer, key: str) -> str:
    return str(server.call(server.services.keys.authenticate(key, Scope.UCT)).key_id)


def _assert_closed_as_revoked(out: Outcome) -> None:
    assert out.close_code == 1008
    assert out.events[-1]["type"] == "error"
    assert out.events[-1]["message"] == "api_key revoked"


async def test_revoking_closes_the_keys_open_socket_with_1008(srv: RunningServer) -> None:
    key = mint(srv, Scope.UCT)
    key_id = _key_id(srv, key)

    async def revoke() -> None:
        await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(srv.services.keys.revoke(key_id), srv.loop)
        )

    _assert_closed_as_revoked(
        await _stream_until_closed(f"{srv.ws}/research?api_key={key}", revoke)
    )
    assert srv.services.revocations.watching(key_id) == 0


async def test_a_revocation_written_to_the_database_elsewhere_closes_the_socket(
    srv: RunningServer,
) -> None:
    """`qubitz keys revoke` (another process) writes only the database: the poll finds it."""
    key = mint(srv, Scope.UCT)
    key_id = _key_id(srv, key)

    async def revoke() -> None:
        repo = srv.services.key_repo  # the repository alone: no in-process announcement
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(repo.revoke(key_id), srv.loop))

    _assert_closed_as_revoked(
        await _stream_until_closed(f"{srv.ws}/research?api_key={key}", revoke)
    )
    # Polling goes on cleanly after it (SQLite's naive timestamps once broke the next poll).
    srv.call(srv.services.revocations.poll_once())
    srv.call(srv.services.revocations.poll_once())


async def test_other_keys_sockets_stay_open(srv: RunningServer) -> None:
    keep, drop = mint(srv, Scope.UCT), mint(srv, Scope.UCT)
    drop_id = _key_id(srv, drop)
    async with connect(f"{srv.ws}/research?api_key={keep}", open_timeout=10) as ws:
        await ws.send(json.dumps(RESEARCH))
        await asyncio.wait_for(ws.recv(), 10)
        assert srv.call(srv.services.keys.revoke(drop_id))
        for _ in range(5):  # still streaming after the other key's revocation
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "status"


async def test_revocation_on_one_replica_closes_sockets_on_another_over_redis(
    tmp_path: Path, pg_url: str, redis_url: str
) -> None:
    """Two replicas, one database and one Redis; the poll is slowed to a minute so only the
    Redis announcement can close the socket in time."""
    env = {
        "QUBITZ_DATABASE_URL": pg_url,
        "QUBITZ_REDIS_URL": redis_url,
        "QUBITZ_REVOCATION_POLL_INTERVAL": "60",
    }
    a = make_settings(tmp_path / "a", QUBITZ_REPLICA_ID=f"a-{uuid.uuid4().hex[:6]}", **env)
    b = make_settings(tmp_path / "b", QUBITZ_REPLICA_ID=f"b-{uuid.uuid4().hex[:6]}", **env)
    with run_server(a, as_wiring(_pipelines())) as ra, run_server(b, as_wiring(_pipelines())) as rb:
        key = mint(ra, Scope.UCT)
        key_id = _key_id(ra, key)

        async def revoke_on_a() -> None:
            fut = asyncio.run_coroutine_threadsafe(ra.services.keys.revoke(key_id), ra.loop)
            assert await asyncio.wrap_future(fut)

        out = await asyncio.wait_for(
            _stream_until_closed(f"{rb.ws}/research?api_key={key}", revoke_on_a), 8
        )
        _assert_closed_as_revoked(out)


async def test_a_key_revoked_before_its_request_arrives_starts_no_job(srv: RunningServer) -> None:
    """Revoked while the socket waits for its first message: error event, 1008, no job."""
    key = mint(srv, Scope.UCT)
    key_id = _key_id(srv, key)
    async with connect(f"{srv.ws}/research?api_key={key}", open_timeout=10) as ws:
        await asyncio.sleep(0.2)  # authenticated, waiting for the request
        assert srv.call(srv.services.keys.revoke(key_id))
        await ws.send(json.dumps(RESEARCH))
        out = await asyncio.wait_for(read_all(ws, Outcome()), 10)
    _assert_closed_as_revoked(out)
    assert out.events == [out.events[-1]] and "job_id" not in out.events[0]
    assert srv.services.runner.running_count == 0
