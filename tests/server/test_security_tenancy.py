"""Workspace ids are validated when a key is minted and compared exactly when one is used."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from agents.protocol import Scope
from agents.report_loader import owns_key
from agents.tenancy import InvalidWorkspaceId, is_workspace_id, validate_workspace_id
from server.auth import hash_key, mint_key
from server.db.base import utcnow
from server.db.keys import ApiKeyRow
from tests.conftest import mint
from tests.support.server import RunningServer
from tests.support.wsclient import PAYLOADS, run

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("good", ["a", "ws1", "acme-prod", "0", "a" * 63])
def test_valid_workspace_ids(good: str) -> None:
    assert validate_workspace_id(good) == good


@pytest.mark.parametrize(
    "bad", ["", "a/b", "a_b", "A", "-a", "a.b", "..", "a b", "a\n", "é", "a" * 64, "a/", "/a"]
)
def test_invalid_workspace_ids(bad: str) -> None:
    assert not is_workspace_id(bad)
    with pytest.raises(InvalidWorkspaceId):
        validate_workspace_id(bad)


def test_owns_key_is_exact() -> None:
    assert owns_key("a/p/report.md", "a")
    assert not owns_key("a/b/p/report.md", "a/b")  # an invalid id owns nothing
    assert not owns_key("ab/p/report.md", "a")
    assert not owns_key("a", "a")
    assert not owns_key("a/", "a")
    assert not owns_key("a_b/p/r.md", "a")


@pytest.mark.parametrize("bad", ["a/b", "a_b", "Acme", ""])
def test_keys_cannot_be_minted_for_invalid_workspace_ids(server: RunningServer, bad: str) -> None:
    with pytest.raises(InvalidWorkspaceId):
        mint(server, Scope.UCT, workspace=bad)


async def test_a_key_of_a_legacy_invalid_workspace_is_refused(server: RunningServer) -> None:
    """A key stored before validation (workspace `a/b`) no longer authenticates: 1008."""
    key, key_id = mint_key(Scope.UCT)

    async def insert_legacy() -> None:
        async with server.services.key_repo._sessions.begin() as s:
            await s.execute(
                insert(ApiKeyRow).values(
                    id=key_id,
                    workspace_id="a/b",
                    scope=Scope.UCT.value,
                    name="",
                    prefix=key[:11],
                    key_hash=hash_key(key),
                    created_at=utcnow(),
                    use_count=0,
                )
            )

    server.call(insert_legacy())
    out = await run(f"{server.ws}/chat?api_key={key}", PAYLOADS["chat"])
    assert out.close_code == 1008
    assert out.events[0]["type"] == "chat_error"
    assert "invalid workspace" in out.events[0]["message"]
