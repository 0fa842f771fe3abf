"""Every route refuses missing, unknown, revoked and wrong-scope keys with 1008, after an error."""

from __future__ import annotations

import pytest

from agents.protocol import ENDPOINTS, Scope
from tests.conftest import mint
from tests.support.server import RunningServer
from tests.support.wsclient import PAYLOADS, run

pytestmark = pytest.mark.anyio
ROUTES = sorted(ENDPOINTS)


def _error_text(event: dict) -> str:
    return str(event.get("message") or event.get("data", {}).get("message"))


@pytest.mark.parametrize("route", ROUTES)
async def test_missing_key_is_refused_with_1008(server: RunningServer, route: str) -> None:
    out = await run(f"{server.ws}/{route}", PAYLOADS[route])
    assert out.close_code == 1008
    assert out.events[0]["type"] in {"error", "chat_error"}
    assert "missing api_key" in _error_text(out.events[0])


@pytest.mark.parametrize("route", ROUTES)
async def test_unknown_key_is_refused(server: RunningServer, route: str) -> None:
    prefix = "qk_uct_" if ENDPOINTS[route].scope is Scope.UCT else "qk_ch_"
    out = await run(f"{server.ws}/{route}?api_key={prefix}notarealkey", PAYLOADS[route])
    assert out.close_code == 1008
    assert "invalid api_key" in _error_text(out.events[0])


@pytest.mark.parametrize("route", ROUTES)
async def test_wrong_scope_is_refused(server: RunningServer, route: str) -> None:
    other = Scope.CONTROL_HUB if ENDPOINTS[route].scope is Scope.UCT else Scope.UCT
    key = mint(server, other)
    out = await run(f"{server.ws}/{route}?api_key={key}", PAYLOADS[route])
    assert out.close_code == 1008
    assert "lacks scope" in _error_text(out.events[0])


@pytest.mark.parametrize("route", ROUTES)
async def test_revoked_key_is_refused(server: RunningServer, route: str) -> None:
    key = mint(server, ENDPOINTS[route].scope)
    key_id = server.call(server.services.keys.authenticate(key, ENDPOINTS[route].scope)).key_id
    assert server.call(server.services.keys.revoke(key_id))
    out = await run(f"{server.ws}/{route}?api_key={key}", PAYLOADS[route])
    assert out.close_code == 1008
    assert "revoked" in _error_text(out.events[0])


@pytest.mark.parametrize("route", ROUTES)
async def test_right_scope_runs_the_job_and_closes_1000(server: RunningServer, route: str) -> None:
    key = mint(server, ENDPOINTS[route].scope)
    out = await run(f"{server.ws}/{route}?api_key={key}", PAYLOADS[route])
    assert out.close_code == 1000, out
    assert out.events, "a job sends at least one event"
    assert out.seqs() == list(range(1, len(out.events) + 1))
    assert len({e["job_id"] for e in out.events}) == 1


async def test_key_use_is_audited(server: RunningServer) -> None:
    key = mint(server, Scope.UCT)
    await run(f"{server.ws}/research?api_key={key}", PAYLOADS["research"])
    await run(f"{server.ws}/getspec?api_key={key}", PAYLOADS["getspec"])
    principal = server.call(server.services.keys.authenticate(key, Scope.UCT))
    server.call(server.services.audit.flush())  # key uses are written in batches
    records = server.call(server.services.key_repo.list_keys("ws1"))
    record = next(r for r in records if r.id == principal.key_id)
    assert record.use_count == 1 and record.last_used_at is not None
    audit = server.call(server.services.key_repo.audit(principal.key_id))
    assert [(route, outcome) for _at, route, outcome in audit] == [
        ("research", "ok"),
        ("getspec", "wrong_scope"),
    ]
