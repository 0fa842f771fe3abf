"""The local gateway for apps deployed to the local target (see docs/app-keys.md)."""

from server.gateway.keycache import GatewayKeyCache
from server.gateway.proxy import Gateway
from server.gateway.ratelimit import BucketRegistry, TokenBucket
from server.gateway.router import AppRoute, LocalAppRouter

__all__ = [
    "AppRoute",
    "BucketRegistry",
    "Gateway",
    "GatewayKeyCache",
    "LocalAppRouter",
    "TokenBucket",
]
