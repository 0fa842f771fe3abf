"""SqlSpecStore: immutable numbered versions, deployed status, optimistic concurrency, isolation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agents.errors import Conflict, NotFound
from agents.spec.validation import canonical_json, validate_spec
from tests.spec.helpers import spec_dict, sql_store

A = canonical_json(validate_spec(spec_dict("a")))
B = canonical_json(validate_spec(spec_dict("a", "b")))


def test_versions_are_numbered_and_immutable(tmp_path: Path) -> None:
    """Each append is the next number; earlier versions keep their content and metadata."""

    async def scenario() -> None:
        async with sql_store(tmp_path) as store:
            v1 = await store.append(
                "ws", "p", user_id="u1", action="generate", instruction="uc", spec_json=A
            )
            v2 = await store.append(
                "ws", "p", user_id="u2", action="update", instruction="add b", spec_json=B
            )
            assert (v1.version, v2.version) == (1, 2)
            first = await store.get_version("ws", "p", 1)
            assert first is not None
            assert (first.spec_json, first.action, first.instruction, first.user_id) == (
                A,
                "generate",
                "uc",
                "u1",
            )
            current = await store.current("ws", "p")
            assert current is not None
            assert current.version == 2
            assert current.spec_json == B
            assert [v.version for v in await store.history("ws", "p")] == [1, 2]
            assert await store.get_version("ws", "p", 3) is None

    asyncio.run(scenario())


def test_status_is_pending_until_the_current_version_is_deployed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sql_store(tmp_path) as store:
            await store.append(
                "ws", "p", user_id="u", action="generate", instruction=None, spec_json=A
            )
            current = await store.current("ws", "p")
            assert current is not None
            assert current.status == "pending"
            await store.mark_deployed("ws", "p", 1)
            current = await store.current("ws", "p")
            assert current is not None
            assert current.status == "deployed"
            assert current.deployed_version == 1
            await store.append(
                "ws", "p", user_id="u", action="update", instruction="x", spec_json=B
            )
            current = await store.current("ws", "p")
            assert current is not None
            assert current.status == "pending"
            assert current.deployed_version == 1
            old = await store.get_version("ws", "p", 1)
            assert old is not None
            assert old.status == "deployed"

    asyncio.run(scenario())


def test_mark_deployed_refuses_unknown_versions_and_other_workspaces(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sql_store(tmp_path) as store:
            await store.append(
                "ws", "p", user_id="u", action="generate", instruction=None, spec_json=A
            )
            with pytest.raises(NotFound):
                await store.mark_deployed("ws", "p", 2)
            with pytest.raises(NotFound):
                await store.mark_deployed("other", "p", 1)
            current = await store.current("ws", "p")
            assert current is not None
            assert current.deployed_version is None

    asyncio.run(scenario())


def test_append_with_stale_expected_version_conflicts(tmp_path: Path) -> None:
    """An update computed against version 1 is refused once version 2 exists."""

    async def scenario() -> None:
        async with sql_store(tmp_path) as store:
            await store.append(
                "ws", "p", user_id="u", action="generate", instruction=None, spec_json=A
            )
            await store.append(
                "ws", "p", user_id="u", action="update", instruction=None, spec_json=B,
                expected_latest=1,
            )  # fmt: skip
            with pytest.raises(Conflict):
                await store.append(
                    "ws", "p", user_id="u", action="update", instruction=None, spec_json=A,
                    expected_latest=1,
                )  # fmt: skip
            assert [v.version for v in await store.history("ws", "p")] == [1, 2]

    asyncio.run(scenario())


def test_same_project_id_in_two_workspaces_is_two_projects(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sql_store(tmp_path) as store:
            await store.append(
                "w1", "p", user_id="u", action="generate", instruction=None, spec_json=A
            )
            await store.append(
                "w2", "p", user_id="u", action="generate", instruction=None, spec_json=B
            )
            one, two = await store.current("w1", "p"), await store.current("w2", "p")
            assert one is not None
            assert two is not None
            assert (one.version, one.spec_json) == (1, A)
            assert (two.version, two.spec_json) == (1, B)
            await store.mark_deployed("w1", "p", 1)
            two = await store.current("w2", "p")
            assert two is not None
            assert two.status == "pending"

    asyncio.run(scenario())
