"""The read API: jobs and projects over HTTP, with the WebSocket routes' keys (see auth.py).

    GET  /v1/jobs[?route=&state=&limit=]      GET  /v1/projects[?limit=]
    GET  /v1/jobs/{id}                        GET  /v1/projects/{id}
    GET  /v1/jobs/{id}/events?since=N         GET  /openapi.json
    POST /v1/jobs/{id}/cancel

`api_routes` is mounted by server/app.py; its handlers find the `ReadApi` the lifespan yields
in the request state (and answer 503 without it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from server.api.auth import ApiError, Caller, authenticate
from server.api.jobs import JobsApi
from server.api.openapi import openapi_document
from server.api.projects import ProjectsApi
from server.auth import ConnectRateLimiter
from server.composition import Core, ServedArtifacts
from server.db.jobs import JobRepository
from server.session import Services
from server.sharedlimit import SharedBuckets

# Requests per key and minute, relative to the WebSocket connect limit (pages poll the API).
API_RATE_FACTOR = 10

Handler = Callable[[Request, Caller, Services], Awaitable[Response]]


class ReadApi:
    """The read API over the lifespan's services; built once per start (server/app.py)."""

    def __init__(self, services: Services, core: Core, artifacts: ServedArtifacts | None) -> None:
        self.services = services
        server = core.settings.server
        self.jobs = JobsApi(JobRepository(core.sessions), core.settings.resolved_public_url)
        self.projects = ProjectsApi(core.sessions, artifacts)
        self.limiter = ConnectRateLimiter(
            server.connect_rate_per_minute * API_RATE_FACTOR,
            server.connect_burst * API_RATE_FACTOR,
            shared=SharedBuckets(core.redis, "api") if core.redis is not None else None,
        )


def api_routes(public_url: str) -> list[BaseRoute]:
    """The read API's routes and /openapi.json; they find the `ReadApi` in the request state."""

    def endpoint(pick: Callable[[ReadApi], Handler]) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            st: ReadApi | None = getattr(request.state, "api", None)
            if st is None:
                return JSONResponse({"detail": "starting"}, status_code=503)
            try:
                caller = await authenticate(request, st.services, st.limiter)
                return await pick(st)(request, caller, st.services)
            except ApiError as exc:
                return JSONResponse(
                    {"detail": exc.message}, status_code=exc.status, headers=exc.headers
                )

        return handle

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document(public_url or str(request.base_url).rstrip("/")))

    return [
        Route("/openapi.json", openapi),
        Route("/v1/jobs", endpoint(lambda s: _no_services(s.jobs.index))),
        Route("/v1/jobs/{job_id}", endpoint(lambda s: s.jobs.get)),
        Route("/v1/jobs/{job_id}/events", endpoint(lambda s: s.jobs.events)),
        Route("/v1/jobs/{job_id}/cancel", endpoint(lambda s: s.jobs.cancel), methods=["POST"]),
        Route("/v1/projects", endpoint(lambda s: _no_services(s.projects.index))),
        Route("/v1/projects/{project_id}", endpoint(lambda s: _no_services(s.projects.get))),
    ]


def _no_services(fn: Callable[[Request, Caller], Awaitable[Response]]) -> Handler:
    async def call(request: Request, caller: Caller, _services: Services) -> Response:
        return await fn(request, caller)

    return call
