"""create_app(settings) -> Starlette: the composition root. The lifespan builds the core, calls
the wiring (server/wiring.py unless a test gives its own) and yields the request state."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, Router, WebSocketRoute
from starlette.websockets import WebSocket

from agents.budget import DailyBudget
from agents.protocol import ENDPOINTS
from server.api import ReadApi, api_routes
from server.asyncapi import asyncapi_document
from server.auth import AuditBuffer, ConnectRateLimiter, KeyService
from server.authlimit import FailedAuthLimiter
from server.composition import Core, Wiring
from server.db.base import make_engine, make_sessionmaker
from server.db.jobs import JobRepository
from server.db.keys import KeyRepository
from server.db.migrate import upgrade
from server.db.replicas import ReplicaRepository
from server.db.token_usage import SqlWorkspaceTokenUsage
from server.durable.engine import DurableEngine, system_database_url
from server.durable.retention import Retention
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
from server.wiring import wire_pipelines

log = logging.getLogger("qubitz.app")


def _engine_version() -> str:
    """The engine's application version: the release line (major.minor), so replicas of one
    line recover each other's jobs across patch releases and rolling updates."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return ".".join(version("qubitz").split(".")[:2])
    except PackageNotFoundError:
        return "0"


def create_app(settings: Settings, *, wiring: Wiring | None = None) -> Starlette:
    """The ASGI app. `wiring` builds the endpoints' pipelines (default: server.wiring).

    The lifespan builds the `Core`, hands it to the wiring, and yields the state every request
    sees (`request.state`): services, the routes the wiring contributed, the read API."""
    wire = wiring or wire_pipelines
    srv = settings.server

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = make_engine(settings.resolved_database_url)
        await upgrade(db)
        redis: Any = None
        if settings.database.redis_url:
            import redis.asyncio as aioredis

            redis = aioredis.from_url(settings.database.redis_url)
        sessions = make_sessionmaker(db)
        core = Core(
            settings=settings,
            engine=db,
            sessions=sessions,
            metrics=Metrics(),
            redis=redis,
            tracing=tracing_from_env(settings.env),  # NO_TRACING unless OTEL_* is set
            # every workspace's daily token budget (agents/budget.py), counted in the database
            budget=DailyBudget(
                SqlWorkspaceTokenUsage(sessions), settings.chat.workspace_daily_tokens or None
            ),
        )
        jobs = JobRepository(core.sessions)
        sinks: list[DurableSink] = []
        if redis is not None:
            sinks.append(RedisSink(redis))
        sinks.append(DatabaseSink(jobs))
        event_log = EventLog(sinks)
        await event_log.start()
        replica = srv.replica_id or socket.gethostname()
        job_settings = settings.jobs
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
            core.metrics,
            engine=engine,
            replica_id=replica,
            coalesce_window=srv.coalesce_window,
            max_running=job_settings.max_running,
            cancel_poll=job_settings.cancel_poll_seconds,
            budget=core.budget,
            tracing=core.tracing,
        )
        sweep = ReplicaSweep(
            ReplicaRepository(core.sessions),
            engine,
            replica_id=replica,
            failover_after=job_settings.failover_seconds,
        )
        await sweep.start()
        scheduler = KeepaliveScheduler(
            interval=srv.keepalive_interval, idle_timeout=srv.idle_timeout
        )
        scheduler.start()
        key_repo = KeyRepository(core.sessions)
        audit = AuditBuffer(key_repo)
        audit.start()
        keys = KeyService(key_repo)
        revocations = RevocationHub(
            key_repo,
            forget=keys.forget,
            redis=redis,
            poll_interval=srv.revocation_poll_interval,
        )
        keys.on_revoke.append(revocations.announce)
        await revocations.start()
        async with wire(core) as wired:
            runner.bind(dict(wired.pipelines))
            retention = Retention(
                jobs,
                core.sessions,
                engine,
                days=job_settings.retention_days,
                pruners=wired.pruners,  # the local deploy target's old checkouts
            )
            retention.start()
            services = Services(
                settings=settings,
                keys=keys,
                key_repo=key_repo,
                audit=audit,
                limiter=ConnectRateLimiter(
                    srv.connect_rate_per_minute,
                    srv.connect_burst,
                    # with Redis the per-key limit holds across replicas (server/sharedlimit.py)
                    shared=SharedBuckets(redis, "connect") if redis is not None else None,
                ),
                runner=runner,
                log=event_log,
                scheduler=scheduler,
                metrics=core.metrics,
                pipelines=dict(wired.pipelines),
                auth_failures=FailedAuthLimiter(
                    rate_per_minute=srv.auth_fail_rate_per_minute,
                    burst=srv.auth_fail_burst,
                ),
                revocations=revocations,
            )
            for start in wired.starters:
                await start()
            try:
                yield {
                    "services": services,
                    "engine": db,
                    "routes": Router(routes=list(wired.routes)),
                    "api": ReadApi(services, core, wired.artifacts),
                }
            finally:
                services.stop_accepting()
                jobs_left = await runner.shutdown(srv.shutdown_grace)
                await sweep.stop(jobs_left=jobs_left)
                await retention.stop()
                await engine.stop()
                await audit.close()
                await revocations.close()
                await scheduler.stop()
                await event_log.close()
                jobs.close()
        if redis is not None:
            await redis.aclose()
        await db.dispose()
        await shutdown_tracing(core.tracing)  # exports the spans still buffered

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        db: AsyncEngine | None = getattr(request.state, "engine", None)
        if db is None:
            return JSONResponse({"status": "fail"}, status_code=503)
        services: Services | None = getattr(request.state, "services", None)
        if services is not None and not services.accepting:
            # shutting down: the load balancer takes this replica out before it stops
            return JSONResponse({"status": "draining"}, status_code=503)
        try:
            async with db.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:  # the reason goes to the log, never to the (unauthenticated) client
            log.warning("readiness check: database unreachable", exc_info=True)
            return JSONResponse({"status": "fail"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def metrics(request: Request) -> Response:
        if not metrics_allowed(request, srv.metrics_token):
            return PlainTextResponse("Unauthorized", status_code=401)
        services: Services | None = getattr(request.state, "services", None)
        body = services.metrics.render() if services else b""
        return Response(body, media_type=METRICS_CONTENT_TYPE)

    async def asyncapi(_: Request) -> Response:
        return JSONResponse(asyncapi_document(settings.resolved_public_url))

    class _Endpoint:
        def __init__(self, name: str) -> None:
            self.name = name

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            ws = WebSocket(scope, receive, send)
            await websocket_handler(ENDPOINTS[self.name], scope["state"]["services"])(ws)

    async def contributed(scope: Any, receive: Any, send: Any) -> None:
        """Routes the wiring contributed (artifacts, gateway, console), from the lifespan."""
        await scope["state"]["routes"](scope, receive, send)

    routes: list[BaseRoute] = [WebSocketRoute(f"/{name}", _Endpoint(name)) for name in ENDPOINTS]
    routes += [
        Route("/health", health),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/asyncapi.json", asyncapi),
    ]
    routes += api_routes(settings.resolved_public_url)
    app = Starlette(routes=routes, lifespan=lifespan)
    app.mount("/", contributed)
    return app
