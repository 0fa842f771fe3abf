"""create_app(settings) -> Starlette: routes and lifespan wiring, nothing else."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, Router, WebSocketRoute

from agents.budget import DailyBudget
from agents.pipeline import Pipeline
from agents.protocol import ENDPOINTS
from server.api import api_routes
from server.asyncapi import asyncapi_document
from server.auth import AuditBuffer, ConnectRateLimiter, KeyService
from server.authlimit import FailedAuthLimiter
from server.db.base import make_engine, make_sessionmaker
from server.db.jobs import JobRepository
from server.db.keys import KeyRepository
from server.db.migrate import upgrade
from server.db.replicas import ReplicaRepository
from server.db.token_usage import SqlWorkspaceTokenUsage
from server.durable.engine import DurableEngine, system_database_url
from server.durable.retention import Retention
from server.durable.settings import JobSettings
from server.durable.sweep import ReplicaSweep
from server.eventlog import DurableSink, EventLog
from server.jobs import JobRunner
from server.keepalive import KeepaliveScheduler
from server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from server.metrics import Metrics
from server.opsauth import metrics_allowed
from server.revocation import RevocationHub
from server.session import Services, websocket_handler
from server.settings import Settings
from server.sharedlimit import SharedBuckets
from server.sinks import DatabaseSink, RedisSink
from server.tracing import shutdown_tracing, tracing_from_env

log = logging.getLogger("qubitz.app")


def _engine_version() -> str:
    """The engine's application version: the release line (major.minor), so replicas of one
    line recover each other's jobs across patch releases and rolling updates."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return ".".join(version("qubitz").split(".")[:2])
    except PackageNotFoundError:
        return "0"


class Infra:
    """What the lifespan builds before the endpoints' pipelines are wired onto it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings.resolved_database_url)
        self.sessions = make_sessionmaker(self.engine)
        self.metrics = Metrics()
        self.tracing = tracing_from_env(settings.env)  # NO_TRACING unless OTEL_* is set
        self.redis: Any = None
        self.extra_routes: list[BaseRoute] = []
        self.router = Router()  # built from extra_routes once wiring has contributed them
        self.closers: list[Callable[[], Any]] = []
        self.starters: list[Callable[[], Any]] = []
        self.artifacts: Any = None  # the artifact store, set by wiring (read API's fresh URLs)
        # Pruned by retention with the jobs (wiring adds the local deploy target's checkouts).
        self.pruners: list[Callable[[float], Awaitable[list[Path]]]] = []
        # Every workspace's daily token budget (agents/budget.py), counted in the database.
        self.budget = DailyBudget(
            SqlWorkspaceTokenUsage(self.sessions), settings.workspace_daily_tokens or None
        )


PipelineWiring = Callable[[Infra], "contextlib.AbstractAsyncContextManager[dict[str, Pipeline]]"]


def create_app(settings: Settings, *, wiring: PipelineWiring | None = None) -> Starlette:
    """The ASGI app. `wiring` builds the endpoints' pipelines (default: server.wiring)."""
    holder: dict[str, Services] = {}
    infra_holder: dict[str, Infra] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        infra = Infra(settings)
        infra_holder["infra"] = infra
        await upgrade(infra.engine)
        jobs = JobRepository(infra.sessions)
        sinks: list[DurableSink] = []
        if settings.redis_url:
            import redis.asyncio as aioredis

            infra.redis = aioredis.from_url(settings.redis_url)
            sinks.append(RedisSink(infra.redis))
        sinks.append(DatabaseSink(jobs))
        event_log = EventLog(sinks)
        await event_log.start()
        replica = settings.replica_id or socket.gethostname()
        job_settings = JobSettings.from_env(settings.env, worker_cap=settings.max_running_jobs)
        engine = DurableEngine(
            system_database_url=system_database_url(
                settings.resolved_database_url, str(settings.data_dir.resolve())
            ),
            executor_id=replica,
            app_version=_engine_version(),
            limits=job_settings.limits,
        )
        await engine.start()
        runner = JobRunner(
            event_log,
            jobs,
            infra.metrics,
            engine=engine,
            replica_id=replica,
            coalesce_window=settings.coalesce_window,
            max_running=settings.max_running_jobs,
            cancel_poll=job_settings.cancel_poll_seconds,
            budget=infra.budget,
            tracing=infra.tracing,
        )
        sweep = ReplicaSweep(
            ReplicaRepository(infra.sessions),
            engine,
            replica_id=replica,
            failover_after=job_settings.failover_seconds,
        )
        await sweep.start()
        retention = Retention(
            jobs, infra.sessions, engine, days=job_settings.retention_days, pruners=infra.pruners
        )
        scheduler = KeepaliveScheduler(
            interval=settings.keepalive_interval, idle_timeout=settings.idle_timeout
        )
        scheduler.start()
        key_repo = KeyRepository(infra.sessions)
        audit = AuditBuffer(key_repo)
        audit.start()
        keys = KeyService(key_repo)
        revocations = RevocationHub(
            key_repo,
            forget=keys.forget,
            redis=infra.redis,
            poll_interval=settings.revocation_poll_interval,
        )
        keys.on_revoke.append(revocations.announce)
        await revocations.start()
        wire: contextlib.AbstractAsyncContextManager[dict[str, Pipeline]]
        if wiring is None:
            from server.wiring import wire_pipelines

            wire = wire_pipelines(infra)
        else:
            wire = wiring(infra)
        async with wire as pipelines:
            infra.router = Router(routes=infra.extra_routes)
            runner.bind(pipelines)
            retention.start()  # after wiring: its pruners (deploy checkouts) are registered
            services = Services(
                settings=settings,
                keys=keys,
                key_repo=key_repo,
                audit=audit,
                limiter=ConnectRateLimiter(
                    settings.connect_rate_per_minute,
                    settings.connect_burst,
                    # with Redis the per-key limit holds across replicas (server/sharedlimit.py)
                    shared=SharedBuckets(infra.redis, "connect") if infra.redis else None,
                ),
                runner=runner,
                log=event_log,
                scheduler=scheduler,
                metrics=infra.metrics,
                pipelines=pipelines,
                auth_failures=FailedAuthLimiter(
                    rate_per_minute=settings.auth_fail_rate_per_minute,
                    burst=settings.auth_fail_burst,
                ),
                revocations=revocations,
            )
            holder["services"] = services
            app.state.services = services
            for start in infra.starters:
                await start()
            try:
                yield
            finally:
                services.stop_accepting()
                jobs_left = await runner.shutdown(settings.shutdown_grace)
                await sweep.stop(jobs_left=jobs_left)
                await retention.stop()
                await engine.stop()
                await audit.close()
                await revocations.close()
                await scheduler.stop()
                await event_log.close()
                for close in reversed(infra.closers):
                    await close()
        if infra.redis is not None:
            await infra.redis.aclose()
        await infra.engine.dispose()
        await shutdown_tracing(infra.tracing)  # exports the spans still buffered

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        infra = infra_holder.get("infra")
        if infra is None or "services" not in holder:
            return JSONResponse({"status": "fail"}, status_code=503)
        try:
            async with infra.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:  # the reason goes to the log, never to the (unauthenticated) client
            log.warning("readiness check: database unreachable", exc_info=True)
            return JSONResponse({"status": "fail"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def metrics(request: Request) -> Response:
        if not metrics_allowed(request, settings.metrics_token):
            return PlainTextResponse("Unauthorized", status_code=401)
        services = holder.get("services")
        body = services.metrics.render() if services else b""
        return Response(body, media_type=METRICS_CONTENT_TYPE)

    async def asyncapi(_: Request) -> Response:
        return JSONResponse(asyncapi_document(settings.resolved_public_url))

    class _LazyWS:
        def __init__(self, name: str) -> None:
            self.name = name

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            from starlette.websockets import WebSocket

            ws = WebSocket(scope, receive, send)
            await websocket_handler(ENDPOINTS[self.name], holder["services"])(ws)

    class _Extra:
        """Routes contributed by wiring (artifacts, gateway, console), resolved at startup."""

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            infra = infra_holder["infra"]
            await infra.router(scope, receive, send)

    routes: list[BaseRoute] = [WebSocketRoute(f"/{name}", _LazyWS(name)) for name in ENDPOINTS]
    routes += [
        Route("/health", health),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/asyncapi.json", asyncapi),
    ]
    routes += api_routes(lambda: holder.get("services"), lambda: infra_holder.get("infra"))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.mount("/", _Extra())
    return app
