"""Helpers for gateway/app-key tests: real HTTP servers on 127.0.0.1 and the wiring under test."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import server.db.appkeys
import server.db.deployments
from agents.appkeys.local import LocalKeyBackend
from agents.appkeys.pipelines import AppKeyDeps
from agents.appkeys.ports import KeyBackend, PlanLimits
from agents.deploy.targets.base import DeploymentRecord
from server.db.appkeys import SqlAppKeyRepository
from server.db.base import Base, make_engine, make_sessionmaker
from server.db.deployments import SqlDeploymentStore
from server.gateway import Gateway


@contextlib.asynccontextmanager
async def serve_asgi(app: Any) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on an ephemeral 127.0.0.1 port in this loop; yields base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


@dataclass
class Stack:
    """Database, deployments, key repository, gateway (served on 127.0.0.1) and pipeline deps."""

    sessions: async_sessionmaker[AsyncSession]
    deployments: SqlDeploymentStore
    keys: SqlAppKeyRepository
    gateway: Gateway
    gateway_url: str
    http: httpx.AsyncClient
    deps: AppKeyDeps

    async def deploy_local(
        self, workspace_id: str, project_id: str, app_id: str, upstream_url: str
    ) -> DeploymentRecord:
        await self.gateway.router.register(app_id, upstream_url, workspace_id, project_id)
        return await self.deployments.save(
            DeploymentRecord(
                workspace_id=workspace_id,
                project_id=project_id,
                app_id=app_id,
                target="local",
                status="deployed",
                endpoint=f"{self.gateway_url}/apps/{app_id}/invoke",
            )
        )


DEFAULT_LIMITS = PlanLimits(rate_limit=1000.0, burst_limit=1000)


@contextlib.asynccontextmanager
async def stack(
    tmp_path: Path,
    *,
    default_limits: PlanLimits = DEFAULT_LIMITS,
    key_cache_ttl: float = 60.0,
    upstream_timeout: float = 10.0,
    extra_backends: dict[str, KeyBackend] | None = None,
    shared_buckets: Any = None,
) -> AsyncIterator[Stack]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'qubitz.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessions = make_sessionmaker(engine)
    keys = server.db.appkeys.SqlAppKeyRepository(sessions)
    deployments = SqlDeploymentStore(sessions)
    async with httpx.AsyncClient() as upstream_http, httpx.AsyncClient(timeout=30) as client:
        gateway = Gateway(
            keys=keys,
            http=upstream_http,
            key_cache_ttl=key_cache_ttl,
            upstream_timeout=upstream_timeout,
            shared_buckets=shared_buckets,
        )
        from starlette.applications import Starlette

        async with serve_asgi(Starlette(routes=gateway.routes())) as url:
            backends: dict[str, KeyBackend] = {
                "local": LocalKeyBackend(keys, default_limits=default_limits)
            }
            backends.update(extra_backends or {})
            deps = AppKeyDeps(
                deployments=deployments, keys=keys, backends=backends, key_cache=gateway.key_cache
            )
            try:
                yield Stack(sessions, deployments, keys, gateway, url, client, deps)
            finally:
                await engine.dispose()
