"""The Alembic migration that adds app allocation, on SQLite and PostgreSQL.

Existing deployments get their app rows; of two that collided under the old naming rule the
earlier keeps its id and the later gets a fresh one (marked failed: its route was overwritten).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.base import make_engine, make_sessionmaker
from server.db.deployments import SqlDeploymentStore
from server.db.migrate import alembic_config


async def _alembic(engine: AsyncEngine, revision: str) -> None:
    def run(sync_conn: object) -> None:
        cfg = alembic_config(str(engine.url))
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


def test_backfill_keeps_the_first_owner_and_reallocates_the_second(db_url: str) -> None:
    """Two workspaces sharing an app id before the migration share nothing after it."""

    async def scenario() -> None:
        engine = make_engine(db_url)
        try:
            await _alembic(engine, "0001")
            t0 = datetime(2026, 1, 1, tzinfo=UTC)
            rows = [
                ("dep_1", "ws-a", "demo", "demo-abc123", "deployed", t0),
                ("dep_2", "ws-b", "demo", "demo-abc123", "deployed", t0 + timedelta(hours=1)),
                ("dep_3", "ws-a", "other", "other-def456", "deployed", t0),
            ]
            async with engine.begin() as conn:
                for dep_id, ws, project, app, status, at in rows:
                    await conn.execute(
                        sa.text(
                            "INSERT INTO deployments (id, workspace_id, project_id, app_id, "
                            "target, status, created_at, updated_at) "
                            "VALUES (:id, :ws, :p, :app, 'local', :st, :at, :at)"
                        ),
                        {"id": dep_id, "ws": ws, "p": project, "app": app, "st": status, "at": at},
                    )
            await _alembic(engine, "head")
            store = SqlDeploymentStore(make_sessionmaker(engine))
            first = await store.get("ws-a", "demo")
            second = await store.get("ws-b", "demo")
            assert first is not None and second is not None
            assert first.app_id == "demo-abc123" and first.status == "deployed"
            assert second.app_id != "demo-abc123" and second.app_id.startswith("demo-")
            assert second.status == "failed"
            assert await store.allocate_app("ws-b", "demo") == second.app_id
            assert await store.allocate_app("ws-a", "other") == "other-def456"
            live = await store.list_deployed(target="local")
            assert sorted((r.workspace_id, r.app_id) for r in live) == [
                ("ws-a", "demo-abc123"),
                ("ws-a", "other-def456"),
            ]
        finally:
            await engine.dispose()

    asyncio.run(scenario())
