"""One call for the lifespan: the gateway, its HTTP client, and the app-key pipelines' deps.

async with app_keys_runtime(sessions=..., deployments=..., options=AppKeysOptions(...)) as rt:
    routes += rt.gateway.routes()              # /apps/{app}/...
    local_target_router = rt.gateway.router    # the deploy area's AppRouter
    pipelines["createapikey"] = create_api_key_pipeline(rt.deps)
    pipelines["deleteapikey"] = delete_api_key_pipeline(rt.deps)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agents.appkeys.local import LocalKeyBackend
from agents.appkeys.pipelines import AppKeyDeps
from agents.appkeys.ports import DeploymentLookup, KeyBackend, PlanLimits, QuotaPeriod
from server.db.appkeys import SqlAppKeyRepository
from server.gateway.proxy import Gateway
from server.sharedlimit import SharedBuckets

AWS_TARGETS = ("aws", "github_aws")


@dataclass(frozen=True)
class AppKeysOptions:
    # Default usage plan of a local app (QUBITZ_APPKEYS_DEFAULT_*)
    default_rate: float = 10.0
    default_burst: int = 20
    default_quota: int | None = None
    default_quota_period: str = "MONTH"
    # Gateway (QUBITZ_GATEWAY_*)
    key_cache_seconds: float = 5.0
    connect_timeout: float = 5.0
    upstream_timeout: float = 60.0
    max_connections: int = 200
    # API Gateway (QUBITZ_APIGW_*; region/endpoint from QUBITZ_AWS_REGION/_ENDPOINT_URL)
    aws_enabled: bool = False
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None
    apigw_calls_per_second: float = 5.0
    apigw_max_attempts: int = 6

    def default_limits(self) -> PlanLimits:
        period = self.default_quota_period.upper()
        if period not in {"DAY", "WEEK", "MONTH"}:
            raise ValueError(f"quota period must be DAY, WEEK or MONTH, got {period!r}")
        quota = self.default_quota if self.default_quota else None
        return PlanLimits(
            rate_limit=self.default_rate,
            burst_limit=self.default_burst,
            quota_limit=quota,
            quota_period=cast(QuotaPeriod, period) if quota else None,
        )


@dataclass(frozen=True)
class AppKeysRuntime:
    gateway: Gateway
    deps: AppKeyDeps
    keys: SqlAppKeyRepository


def _apigateway_client(options: AppKeysOptions) -> Any:
    import boto3
    from botocore.config import Config

    # botocore's own retries are off: the adapter paces calls and backs off on throttling.
    return boto3.client(
        "apigateway",
        region_name=options.aws_region,
        endpoint_url=options.aws_endpoint_url,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=30),
    )


@contextlib.asynccontextmanager
async def app_keys_runtime(
    *,
    sessions: async_sessionmaker[AsyncSession],
    deployments: DeploymentLookup,
    options: AppKeysOptions,
    redis: Any = None,  # with Redis, keys' rate limits hold across replicas
) -> AsyncIterator[AppKeysRuntime]:
    keys = SqlAppKeyRepository(sessions)
    limits = options.default_limits()
    backends: dict[str, KeyBackend] = {"local": LocalKeyBackend(keys, default_limits=limits)}
    if options.aws_enabled:
        from agents.appkeys.aws import AwsKeyBackend  # boto3: the [aws] extra

        client = await asyncio.to_thread(_apigateway_client, options)
        aws = AwsKeyBackend(
            client,
            default_limits=limits,
            calls_per_second=options.apigw_calls_per_second,
            max_attempts=options.apigw_max_attempts,
        )
        for target in AWS_TARGETS:
            backends[target] = aws
    async with httpx.AsyncClient(
        follow_redirects=False,
        limits=httpx.Limits(max_connections=options.max_connections),
    ) as http:
        gateway = Gateway(
            keys=keys,
            http=http,
            connect_timeout=options.connect_timeout,
            upstream_timeout=options.upstream_timeout,
            key_cache_ttl=options.key_cache_seconds,
            shared_buckets=SharedBuckets(redis, "gateway") if redis is not None else None,
        )
        deps = AppKeyDeps(
            deployments=deployments, keys=keys, backends=backends, key_cache=gateway.key_cache
        )
        yield AppKeysRuntime(gateway=gateway, deps=deps, keys=keys)
