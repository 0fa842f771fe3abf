"""The local gateway: `/apps/{app}/...` with API keys, usage plans and a streaming proxy.

Per request, in order (answers shaped like API Gateway's):
1. unknown app -> 404 {"message": "Not Found"};
2. missing, unknown or deleted `x-api-key` -> 403 {"message": "Forbidden"};
3. over the key's rate (token bucket) -> 429 {"message": "Too Many Requests"} + Retry-After;
4. over the key's quota -> 429 {"message": "Limit Exceeded", "error": "quota_exceeded", ...}
   + Retry-After (seconds until the period resets); accepted requests are counted per day;
5. proxied to the app's upstream, streaming both ways. Upstream refuses the connection -> 503,
   times out -> 504, any other transport failure -> 502.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy.exc import SQLAlchemyError
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from agents.appkeys.plans import hash_key
from agents.appkeys.ports import AppKeyRepository
from server.gateway.keycache import GatewayKeyCache
from server.gateway.ratelimit import BucketRegistry, retry_after_header
from server.gateway.router import AppRoute, LocalAppRouter

if TYPE_CHECKING:
    from server.sharedlimit import SharedBuckets

log = logging.getLogger(__name__)

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_DROP_REQUEST = HOP_BY_HOP | {"host", "x-api-key", "x-qubitz-api-key-id", "x-forwarded-for"}


def _message(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"message": message, **extra}, status_code=status)


class Gateway:
    """Owns the router, key cache and buckets; the HTTP client is built in the lifespan."""

    def __init__(
        self,
        *,
        keys: AppKeyRepository,
        http: httpx.AsyncClient,
        router: LocalAppRouter | None = None,
        # Timeouts
        connect_timeout: float = 5.0,
        upstream_timeout: float = 60.0,
        key_cache_ttl: float = 5.0,
        clock: Callable[[], float] | None = None,
        wallclock: Callable[[], datetime] | None = None,
        shared_buckets: SharedBuckets | None = None,
    ) -> None:
        self.router = router or LocalAppRouter()
        monotonic = clock or time.monotonic
        self.buckets = BucketRegistry(clock=monotonic)
        # With Redis, keys' rate limits hold across replicas (server/sharedlimit.py).
        self._shared = shared_buckets
        self.key_cache = GatewayKeyCache(keys, self.buckets, ttl=key_cache_ttl, clock=monotonic)
        self._keys = keys
        self._http = http
        self._timeout = httpx.Timeout(upstream_timeout, connect=connect_timeout)
        self._now = wallclock or (lambda: datetime.now(UTC))

    def routes(self) -> list[Route]:
        return [
            Route("/apps/{app}", self.handle, methods=METHODS),
            Route("/apps/{app}/{path:path}", self.handle, methods=METHODS),
        ]

    async def handle(self, request: Request) -> Response:
        route = self.router.resolve(request.path_params["app"])
        if route is None:
            return _message(404, "Not Found")
        presented = request.headers.get("x-api-key")
        if not presented:
            return _message(403, "Forbidden")
        try:
            active = await self.key_cache.lookup(
                route.workspace_id, route.project_id, hash_key(presented)
            )
        except SQLAlchemyError:
            log.exception("gateway: key store unavailable")
            return _message(503, "Service Unavailable")
        if active is None:
            return _message(403, "Forbidden")
        limits = active.limits
        key_id, rate, burst = active.key.key_id, limits.rate_limit, limits.burst_limit
        if self._shared is not None:
            wait = await self._shared.take(key_id, rate=rate, burst=burst)
        else:
            wait = self.buckets.take(key_id, rate=rate, burst=burst)
        if wait > 0:
            return JSONResponse(
                {"message": "Too Many Requests"},
                status_code=429,
                headers={"Retry-After": retry_after_header(wait)},
            )
        now = self._now()
        try:
            decision = await self._keys.consume(
                route.workspace_id, active.key.key_id, limits, now=now
            )
        except SQLAlchemyError:
            log.exception("gateway: usage store unavailable")
            return _message(503, "Service Unavailable")
        if not decision.allowed:
            resets = decision.resets_at
            wait_s = (resets - now).total_seconds() if resets else 60.0
            return JSONResponse(
                {
                    "message": "Limit Exceeded",
                    "error": "quota_exceeded",
                    "quota_limit": decision.limit,
                    "quota_period": decision.period,
                    "used": decision.used,
                    "resets_at": resets.isoformat() if resets else None,
                },
                status_code=429,
                headers={"Retry-After": retry_after_header(wait_s)},
            )
        return await self._proxy(request, route, active.key.key_id)

    def _upstream_request(self, request: Request, route: AppRoute, key_id: str) -> httpx.Request:
        path = request.path_params.get("path", "")
        url = f"{route.upstream_url}/{path}"
        if request.url.query:
            url = f"{url}?{request.url.query}"
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _DROP_REQUEST]
        headers.append(("x-qubitz-api-key-id", key_id))
        if request.client is not None:
            chain = request.headers.get("x-forwarded-for")
            client = request.client.host
            headers.append(("x-forwarded-for", f"{chain}, {client}" if chain else client))
        headers.append(("x-forwarded-proto", request.url.scheme))
        has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
        content = request.stream() if has_body else None
        return self._http.build_request(
            request.method, url, headers=headers, content=content, timeout=self._timeout
        )

    async def _proxy(self, request: Request, route: AppRoute, key_id: str) -> Response:
        upstream = self._upstream_request(request, route, key_id)
        try:
            response = await self._http.send(upstream, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            log.warning("gateway: app %s is not accepting connections", route.app_id)
            return _message(503, "Service Unavailable")
        except httpx.TimeoutException:
            return _message(504, "Endpoint request timed out")
        except httpx.HTTPError:
            log.warning("gateway: app %s failed", route.app_id, exc_info=True)
            return _message(502, "Bad Gateway")

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in response.aiter_raw():
                    yield chunk
            finally:
                await response.aclose()

        proxied = StreamingResponse(
            body(), status_code=response.status_code, background=BackgroundTask(response.aclose)
        )
        # raw pairs keep repeated headers (Set-Cookie) and the upstream's Content-Length
        proxied.raw_headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in response.headers.multi_items()
            if k.lower() not in HOP_BY_HOP
        ]
        return proxied
