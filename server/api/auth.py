"""Read-API authentication: the WebSocket routes' keys, in `Authorization: Bearer` or `X-API-Key`.

A research key (`qk_uct_`) sees the jobs of the research-scoped routes (/research, /chat) and its
workspace's research projects; a ControlHub key (`qk_ch_`) the jobs of the other routes and its
workspace's specs and deployments. Every lookup is by (workspace, id): another workspace's ids
answer 404, exactly like ids that do not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from agents.protocol import ENDPOINTS, Scope
from server.auth import AuthError, ConnectRateLimiter, Principal, RateLimited, scope_of
from server.session import Services


class ApiError(Exception):
    """Answer with `status` and `{"detail": message}`."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class Caller:
    principal: Principal

    @property
    def workspace_id(self) -> str:
        return self.principal.workspace_id

    @property
    def routes(self) -> tuple[str, ...]:
        """The WebSocket routes whose jobs this key may see."""
        return tuple(name for name, e in ENDPOINTS.items() if e.scope is self.principal.scope)

    def sees_route(self, route: str) -> bool:
        return route in self.routes


def presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key") or None


CHALLENGE = {"WWW-Authenticate": 'Bearer realm="qubitz"'}


async def authenticate(request: Request, services: Services, limiter: ConnectRateLimiter) -> Caller:
    """The caller, or ApiError 401 (no/unknown/revoked key) or 429 (rate limited: the key's
    request rate, or the client address's failed attempts, server/authlimit.py)."""
    key = presented_key(request)
    route = f"api:{request.url.path[:60]}"
    remote = request.client.host if request.client else ""
    scope = scope_of(key) if key else None
    failures = services.auth_failures  # per client address, shared with the WebSocket routes
    wait = failures.retry_after(remote) if failures is not None else None
    if wait is not None:
        services.metrics.auth_failed("rate_limited")
        services.audit.record(None, route=route, outcome="auth_rate_limited", remote=remote)
        message = f"too many failed authentication attempts; retry in {wait:.1f}s"
        raise ApiError(429, message, {"Retry-After": str(max(1, round(wait)))})
    try:
        principal = await services.keys.authenticate(key, scope or Scope.UCT)
    except AuthError as exc:
        services.metrics.auth_failed(exc.outcome)
        services.audit.record(exc.key_id, route=route, outcome=exc.outcome, remote=remote)
        if failures is not None:
            failures.failed(remote)
        raise ApiError(401, exc.reason, CHALLENGE) from exc
    try:
        await limiter.acquire(principal.key_id)
    except RateLimited as exc:
        services.audit.record(principal.key_id, route=route, outcome="rate_limited", remote=remote)
        raise ApiError(429, str(exc), {"Retry-After": str(max(1, round(exc.retry_after)))}) from exc
    services.audit.record(principal.key_id, route=route, outcome="ok", remote=remote)
    return Caller(principal)
