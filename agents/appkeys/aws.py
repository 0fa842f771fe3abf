"""Key backend for apps on AWS: API Gateway API keys and usage plans through boto3.

Every boto3 call runs in a thread, paced to `calls_per_second` (API Gateway allows about 5
management calls per second per account) and retried with exponential backoff when API Gateway
answers TooManyRequestsException. botocore errors are translated here into `ApiGatewayError`
(an `agents.errors.UpstreamError`), so nothing above this module sees botocore.

A key goes on the app's usage plan (the deployment's `usage_plan_id`) unless the request asks for
other limits; then a dedicated plan with those limits is created on the same API stages, and is
deleted with the key.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from botocore.exceptions import BotoCoreError, ClientError

from agents.appkeys.plans import merge_limits
from agents.appkeys.ports import (
    AppKey,
    DeployedApp,
    IssuedKey,
    LimitOverrides,
    PlanLimits,
    QuotaPeriod,
)
from agents.errors import UpstreamError

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient

T = TypeVar("T")

_THROTTLED = {"TooManyRequestsException", "ThrottlingException"}
_NOT_FOUND = "NotFoundException"


class ApiGatewayError(UpstreamError):
    """An API Gateway call failed (after retries for throttling). `aws_code` is AWS's code."""

    code = "api_gateway_error"

    def __init__(self, message: str, *, aws_code: str, operation: str) -> None:
        super().__init__(message)
        self.aws_code = aws_code
        self.operation = operation


class AwsKeyBackend:
    def __init__(
        self,
        client: APIGatewayClient,
        *,
        default_limits: PlanLimits,
        # Limits
        calls_per_second: float = 5.0,
        max_attempts: int = 6,
        # Timeouts
        backoff_base: float = 0.25,
        backoff_cap: float = 8.0,
    ) -> None:
        self._client = client
        self._default = default_limits
        self._interval = 1.0 / calls_per_second if calls_per_second > 0 else 0.0
        self._max_attempts = max(1, max_attempts)
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._pace_lock = asyncio.Lock()
        self._next_call = 0.0

    # -- calls ----------------------------------------------------------------------------------

    async def _pace(self) -> None:
        async with self._pace_lock:
            now = time.monotonic()
            wait = self._next_call - now
            if wait > 0:
                await asyncio.sleep(wait)
            self._next_call = max(now, self._next_call) + self._interval

    async def _call(self, fn: Callable[..., T], operation: str, **kwargs: Any) -> T:
        attempt = 0
        while True:
            attempt += 1
            await self._pace()
            try:
                return await asyncio.to_thread(fn, **kwargs)
            except ClientError as exc:
                err = exc.response.get("Error", {})
                aws_code = str(err.get("Code", "Unknown"))
                if aws_code in _THROTTLED and attempt < self._max_attempts:
                    delay = min(self._backoff_cap, self._backoff_base * 2 ** (attempt - 1))
                    await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                    continue
                message = str(err.get("Message", "")) or str(exc)
                raise ApiGatewayError(
                    f"API Gateway {operation} failed: {aws_code}: {message}",
                    aws_code=aws_code,
                    operation=operation,
                ) from exc
            except BotoCoreError as exc:
                raise ApiGatewayError(
                    f"API Gateway {operation} failed: {exc}",
                    aws_code=type(exc).__name__,
                    operation=operation,
                ) from exc

    async def _call_ignoring_missing(
        self, fn: Callable[..., Any], operation: str, **kwargs: Any
    ) -> None:
        try:
            await self._call(fn, operation, **kwargs)
        except ApiGatewayError as exc:
            if exc.aws_code != _NOT_FOUND:
                raise

    # -- plans ----------------------------------------------------------------------------------

    def _limits_of(self, plan: dict[str, Any]) -> PlanLimits:
        throttle = plan.get("throttle") or {}
        quota = plan.get("quota") or {}
        rate = throttle.get("rateLimit")
        burst = throttle.get("burstLimit")
        limit = quota.get("limit")
        period = quota.get("period")
        return PlanLimits(
            rate_limit=float(rate) if rate is not None else self._default.rate_limit,
            burst_limit=int(burst) if burst is not None else self._default.burst_limit,
            quota_limit=int(limit) if limit is not None else None,
            quota_period=cast(QuotaPeriod, period) if limit is not None else None,
        )

    async def _create_plan(
        self, name: str, api_stages: list[dict[str, Any]], limits: PlanLimits
    ) -> str:
        kwargs: dict[str, Any] = {
            "name": name[:255],
            "description": "qubitz: dedicated usage plan for one API key",
            "apiStages": [{"apiId": s["apiId"], "stage": s["stage"]} for s in api_stages],
            "throttle": {"rateLimit": limits.rate_limit, "burstLimit": limits.burst_limit},
        }
        if limits.quota_limit is not None:
            kwargs["quota"] = {"limit": limits.quota_limit, "period": limits.quota_period}
        created = await self._call(self._client.create_usage_plan, "CreateUsagePlan", **kwargs)
        return str(created["id"])

    async def _delete_plan(self, plan_id: str) -> None:
        try:
            plan = await self._call(
                self._client.get_usage_plan, "GetUsagePlan", usagePlanId=plan_id
            )
        except ApiGatewayError as exc:
            if exc.aws_code == _NOT_FOUND:
                return
            raise
        stages = plan.get("apiStages") or []
        if stages:
            # A plan still associated with stages cannot be deleted.
            ops = [
                {"op": "remove", "path": "/apiStages", "value": f"{s['apiId']}:{s['stage']}"}
                for s in stages
            ]
            await self._call(
                self._client.update_usage_plan,
                "UpdateUsagePlan",
                usagePlanId=plan_id,
                patchOperations=ops,
            )
        await self._call_ignoring_missing(
            self._client.delete_usage_plan, "DeleteUsagePlan", usagePlanId=plan_id
        )

    # -- KeyBackend -------------------------------------------------------------------------------

    async def issue(
        self,
        app: DeployedApp,
        *,
        workspace_id: str,
        project_id: str,
        name: str,
        overrides: LimitOverrides,
    ) -> IssuedKey:
        if not app.usage_plan_id:
            raise UpstreamError(
                f"The deployment of {app.app_id} has no API Gateway usage plan",
                code="no_usage_plan",
            )
        app_plan = await self._call(
            self._client.get_usage_plan, "GetUsagePlan", usagePlanId=app.usage_plan_id
        )
        base = self._limits_of(cast(dict[str, Any], app_plan))
        limits = merge_limits(base, overrides)
        plan_id = app.usage_plan_id
        dedicated = False
        if not overrides.empty and limits != base:
            stages = cast(list[dict[str, Any]], app_plan.get("apiStages") or [])
            plan_id = await self._create_plan(f"{app.app_id}-{name}", stages, limits)
            dedicated = True
        try:
            key = await self._call(
                self._client.create_api_key,
                "CreateApiKey",
                name=name[:1024],
                description=f"qubitz key for {app.app_id}",
                enabled=True,
                tags={"qubitz:workspace": workspace_id[:256], "qubitz:project": project_id[:256]},
            )
            key_id = str(key["id"])
            try:
                await self._call(
                    self._client.create_usage_plan_key,
                    "CreateUsagePlanKey",
                    usagePlanId=plan_id,
                    keyId=key_id,
                    keyType="API_KEY",
                )
            except BaseException:
                await self._call_ignoring_missing(
                    self._client.delete_api_key, "DeleteApiKey", apiKey=key_id
                )
                raise
        except BaseException:
            if dedicated:
                await self._delete_plan(plan_id)
            raise
        return IssuedKey(
            key_id=key_id, value=str(key["value"]), usage_plan_id=plan_id, dedicated_plan=dedicated
        )

    async def revoke(self, key: AppKey) -> None:
        await self._call_ignoring_missing(
            self._client.delete_usage_plan_key,
            "DeleteUsagePlanKey",
            usagePlanId=key.usage_plan_id,
            keyId=key.key_id,
        )
        await self._call_ignoring_missing(
            self._client.delete_api_key, "DeleteApiKey", apiKey=key.key_id
        )
        if key.dedicated_plan:
            await self._delete_plan(key.usage_plan_id)
