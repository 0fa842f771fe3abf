"""The SQL deployment store: upsert per project, workspace isolation, live-only queries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from agents.deploy.targets.base import DeploymentRecord
from server.db.base import Base, make_engine, make_sessionmaker
from server.db.deployments import SqlDeploymentStore

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlDeploymentStore]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield SqlDeploymentStore(make_sessionmaker(engine))
    await engine.dispose()


def _rec(**kw: object) -> DeploymentRecord:
    base = DeploymentRecord(
        workspace_id="ws1", project_id="p1", app_id="p1-abc", target="local", status="deploying"
    )
    return replace(base, **kw)  # type: ignore[arg-type]


async def test_save_upserts_one_row_per_project(store: SqlDeploymentStore) -> None:
    """Saving twice for the same project updates the row; the endpoint appears when deployed."""
    await store.save(_rec(repo_url="file:///r.git"))
    assert await store.get_deployed("ws1", "p1") is None
    saved = await store.save(
        _rec(
            status="deployed",
            endpoint="http://x/apps/p1/invoke",
            spec_version=2,
            repo_url="file:///r.git",
        )
    )
    got = await store.get_deployed("ws1", "p1")
    assert got is not None
    assert got.endpoint == "http://x/apps/p1/invoke"
    assert got.spec_version == 2
    assert got.created_at == saved.created_at
    assert [r.project_id for r in await store.list_deployed(target="local")] == ["p1"]


async def test_other_workspace_sees_nothing(store: SqlDeploymentStore) -> None:
    """A deployment is invisible from another workspace."""
    await store.save(_rec(status="deployed", endpoint="e"))
    assert await store.get("ws2", "p1") is None
    assert await store.get_deployed("ws2", "p1") is None


async def test_destroyed_is_not_live(store: SqlDeploymentStore) -> None:
    """After destroy the record stays but is no longer returned as deployed."""
    await store.save(_rec(status="deployed", endpoint="e"))
    await store.save(_rec(status="destroyed", endpoint=None))
    assert await store.get_deployed("ws1", "p1") is None
    assert await store.list_deployed(target="local") == []
    rec = await store.get("ws1", "p1")
    assert rec is not None
    assert rec.status == "destroyed"
