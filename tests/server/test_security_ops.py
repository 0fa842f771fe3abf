"""/metrics needs a token (or a loopback client); /readyz says ok or fail and nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request

from server.opsauth import metrics_allowed
from tests.conftest import make_settings
from tests.support.pipelines import as_wiring, default_pipelines
from tests.support.server import RunningServer, run_server

pytestmark = pytest.mark.anyio


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[RunningServer]:
    settings = make_settings(tmp_path / "data", QUBITZ_METRICS_TOKEN="m" * 32)
    with run_server(settings, as_wiring(default_pipelines())) as srv:
        yield srv


async def test_metrics_need_the_token_when_one_is_set(guarded: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=guarded.http) as http:
        bare = await http.get("/metrics")
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = await http.get("/metrics", headers={"Authorization": "Bearer " + "m" * 32})
    assert bare.status_code == wrong.status_code == 401
    assert "qubitz_" not in bare.text
    assert right.status_code == 200 and "qubitz_open_connections" in right.text


def _request(host: str, headers: dict[str, str] | None = None) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request({"type": "http", "client": (host, 1234), "headers": raw})


def test_without_a_token_only_loopback_clients_read_metrics() -> None:
    assert metrics_allowed(_request("127.0.0.1"), None)
    assert metrics_allowed(_request("::1"), None)
    assert not metrics_allowed(_request("10.0.0.5"), None)
    assert not metrics_allowed(_request("203.0.113.9"), None)
    assert not metrics_allowed(_request("not-an-ip"), None)
    assert not metrics_allowed(_request("127.0.0.1"), "t" * 20), "a set token is always needed"


async def test_readiness_never_echoes_the_database_error(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    with run_server(settings, as_wiring(default_pipelines())) as srv:
        async with httpx.AsyncClient(base_url=srv.http) as http:
            assert (await http.get("/readyz")).json() == {"status": "ok"}
            engine = srv.services.runner._jobs._sessions.kw["bind"]
            srv.call(engine.dispose())  # drop pooled connections: the next check reconnects
            db = tmp_path / "data" / "qubitz.db"
            for leftover in db.parent.glob("qubitz.db*"):
                leftover.unlink()
            db.mkdir()  # a directory where the database file was: SQLite cannot open it
            res = await http.get("/readyz")
    assert res.status_code == 503
    assert res.json() == {"status": "fail"}
    assert "unable" not in res.text and "qubitz.db" not in res.text


async def test_readiness_fails_once_the_replica_stops_accepting(tmp_path: Path) -> None:
    """A replica shutting down says so to the load balancer's check at once, so new sockets go
    to the other replicas instead of being refused with GOING_AWAY."""
    settings = make_settings(tmp_path / "data")
    with run_server(settings, as_wiring(default_pipelines())) as srv:
        async with httpx.AsyncClient(base_url=srv.http) as http:
            assert (await http.get("/readyz")).status_code == 200
            srv.loop.call_soon_threadsafe(srv.services.stop_accepting)
            res = await http.get("/readyz")
            health = await http.get("/health")
    assert res.status_code == 503
    assert res.json() == {"status": "draining"}
    assert health.json() == {"status": "ok"}  # alive, only not taking new work
