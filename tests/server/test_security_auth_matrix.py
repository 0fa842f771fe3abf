"""The auth matrix: 7 routes x {none, malformed, unknown, revoked, wrong scope, rate-limited
(per key and per address), right}. Every refusal is an error event first, then 1008 (1013 for
rate limits); the right key runs the job to 1000."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from agents.protocol import ENDPOINTS, Scope
from tests.conftest import make_settings, mint
from tests.support.pipelines import as_wiring, default_pipelines
from tests.support.server import RunningServer, run_server
from tests.support.wsclient import PAYLOADS, Outcome, run

pytestmark = pytest.mark.anyio
ROUTES = sorted(ENDPOINTS)
REFUSALS = ["none", "malformed", "unknown", "revoked", "wrong_scope"]
RATE_LIMITS = ["rate_limited_key", "rate_limited_address"]
CASES = [*REFUSALS, *RATE_LIMITS, "right"]
ERROR_TYPES = {"error", "chat_error"}


@pytest.fixture(scope="module")
def matrix_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = make_settings(
        tmp_path_factory.mktemp("matrix"),
        QUBITZ_AUTH_FAIL_BURST="10000",
        QUBITZ_CONNECT_BURST="1",
        QUBITZ_CONNECT_RATE_PER_MINUTE="0.001",
    )
    with run_server(settings, as_wiring(default_pipelines())) as srv:
        yield srv


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One failed attempt per address, then 1013 until a token comes back (hours)."""
    settings = make_settings(
        tmp_path_factory.mktemp("strict"),
        QUBITZ_AUTH_FAIL_BURST="1",
        QUBITZ_AUTH_FAIL_RATE_PER_MINUTE="0.001",
    )
    with run_server(settings, as_wiring(default_pipelines())) as srv:
        yield srv


def _prefix(scope: Scope) -> str:
    return "qk_uct_" if scope is Scope.UCT else "qk_ch_"


async def _attempt(srv: RunningServer, strict: RunningServer, route: str, case: str) -> Outcome:
    scope = ENDPOINTS[route].scope
    other = Scope.CONTROL_HUB if scope is Scope.UCT else Scope.UCT
    url = f"{srv.ws}/{route}"
    payload = PAYLOADS[route]
    if case == "none":
        return await run(url, payload)
    if case == "malformed":
        return await run(f"{url}?api_key=not-a-key-{secrets.token_hex(4)}", payload)
    if case == "unknown":
        return await run(f"{url}?api_key={_prefix(scope)}{secrets.token_urlsafe(32)}", payload)
    if case == "revoked":
        key = mint(srv, scope)
        key_id = srv.call(srv.services.keys.authenticate(key, scope)).key_id
        assert srv.call(srv.services.keys.revoke(key_id))
        return await run(f"{url}?api_key={key}", payload)
    if case == "wrong_scope":
        return await run(f"{url}?api_key={mint(srv, other)}", payload)
    if case == "rate_limited_key":
        key = mint(srv, scope)
        first = await run(f"{url}?api_key={key}", payload)
        assert first.close_code == 1000, first
        return await run(f"{url}?api_key={key}", payload)
    if case == "rate_limited_address":
        good = mint(strict, scope)
        await run(f"{strict.ws}/{route}?api_key={_prefix(scope)}{secrets.token_hex(8)}")
        return await run(f"{strict.ws}/{route}?api_key={good}", payload)
    assert case == "right"
    return await run(f"{url}?api_key={mint(srv, scope)}", payload)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("route", ROUTES)
async def test_auth_matrix(
    matrix_server: RunningServer, strict_server: RunningServer, route: str, case: str
) -> None:
    out = await _attempt(matrix_server, strict_server, route, case)
    if case == "right":
        assert out.close_code == 1000, out
        assert out.events and out.events[0]["type"] not in ERROR_TYPES
        return
    expected = 1013 if case in RATE_LIMITS else 1008
    assert out.close_code == expected, out
    assert len(out.events) == 1, "exactly one event: the error, before the close"
    assert out.events[0]["type"] in ERROR_TYPES
    assert "job_id" not in out.events[0], "a refused request never starts a job"
