"""Failed authentication is limited per client address and audited in aggregate."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agents.protocol import Scope
from server.authaudit import AuditBuffer
from server.authlimit import FailedAuthLimiter
from server.db.base import make_engine, make_sessionmaker
from server.db.keys import KeyRepository
from server.settings import Settings
from tests.conftest import make_settings, mint
from tests.support.pipelines import as_wiring, default_pipelines
from tests.support.server import RunningServer, run_server
from tests.support.wsclient import PAYLOADS, run

pytestmark = pytest.mark.anyio


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[RunningServer]:
    settings: Settings = make_settings(
        tmp_path / "data", QUBITZ_AUTH_FAIL_BURST="3", QUBITZ_AUTH_FAIL_RATE_PER_MINUTE="1"
    )
    with run_server(settings, as_wiring(default_pipelines())) as srv:
        yield srv


async def test_an_address_that_keeps_failing_gets_1013_even_with_a_good_key(
    limited: RunningServer,
) -> None:
    good = mint(limited, Scope.UCT)
    for _ in range(3):
        out = await run(f"{limited.ws}/research?api_key=qk_uct_{secrets.token_hex(8)}")
        assert out.close_code == 1008
    out = await run(f"{limited.ws}/research?api_key={good}", PAYLOADS["research"])
    assert out.close_code == 1013
    assert out.events[0]["type"] == "error"
    assert "too many failed authentication attempts" in out.events[0]["message"]


async def test_failed_attempts_write_aggregated_audit_rows(server: RunningServer) -> None:
    for _ in range(15):
        out = await run(f"{server.ws}/research?api_key=qk_uct_{secrets.token_hex(8)}")
        assert out.close_code == 1008
    server.call(server.services.audit.flush())
    rows = server.call(server.services.key_repo.audit_rows(None))
    assert sum(r.count for r in rows) == 15
    assert len(rows) <= 3  # one row per flush interval, never one per attempt
    assert {(r.route, r.outcome) for r in rows} == {("research", "unknown")}


def test_limiter_refills_and_forgets_old_addresses() -> None:
    limiter = FailedAuthLimiter(rate_per_minute=60, burst=2, max_addresses=2)
    limiter.failed("10.0.0.1", now=0.0)
    assert limiter.retry_after("10.0.0.1", now=0.0) is None
    limiter.failed("10.0.0.1", now=0.0)
    wait = limiter.retry_after("10.0.0.1", now=0.0)
    assert wait is not None and 0.9 < wait <= 1.0
    assert limiter.retry_after("10.0.0.1", now=1.0) is None  # one token back after 1 s
    assert limiter.retry_after("10.0.0.2", now=0.0) is None  # other addresses unaffected
    limiter.failed("10.0.0.2", now=0.0)
    limiter.failed("10.0.0.3", now=0.0)
    assert len(limiter._buckets) == 2


async def test_audit_buffer_is_bounded_while_the_database_is_down() -> None:
    engine = make_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    try:
        audit = AuditBuffer(KeyRepository(make_sessionmaker(engine)), max_pending=50)
        for i in range(500):
            audit.record(None, route="research", outcome="unknown", remote=f"10.0.{i}.1")
        await audit.flush()  # fails: connection refused; rows are kept, within the bound
        assert audit.pending_rows == 50
        assert audit.dropped == 450
        for _ in range(100):  # an already pending row only grows its count
            audit.record(None, route="research", outcome="unknown", remote="10.0.0.1")
        assert audit.pending_rows == 50 and audit.dropped == 450
    finally:
        await engine.dispose()


async def test_the_read_api_shares_the_failed_attempt_limit(limited: RunningServer) -> None:
    """Failed HTTP attempts count against the same address: the read API answers 429, then
    the WebSocket routes 1013, even with a good key."""
    good = mint(limited, Scope.UCT)
    async with httpx.AsyncClient(base_url=limited.http) as http:
        for _ in range(3):
            bad = await http.get(
                "/v1/jobs", headers={"X-API-Key": "qk_uct_" + secrets.token_hex(8)}
            )
            assert bad.status_code == 401
        blocked = await http.get("/v1/jobs", headers={"Authorization": f"Bearer {good}"})
    assert blocked.status_code == 429 and "failed authentication" in blocked.json()["detail"]
    assert int(blocked.headers["retry-after"]) >= 1
    out = await run(f"{limited.ws}/research?api_key={good}", PAYLOADS["research"])
    assert out.close_code == 1013
