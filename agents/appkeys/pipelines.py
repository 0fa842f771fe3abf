"""/createapikey and /deleteapikey pipelines, and teardown of every key of an app.

Errors (agents.errors, mapped by the runner to `{"type":"error","data":{...}}`):
- `not_deployed` (Conflict): the project has no live deployment;
- `key_not_found` (NotFound): no such key in this workspace and project, or already deleted
  (another workspace's key gets the very same answer);
- `usage_plan_mismatch` (InvalidRequest): /deleteapikey named a plan the key is not on;
- `invalid_limits` (InvalidRequest): the requested limits do not combine;
- `unsupported_target` (Conflict): no key backend for the deployment's target;
- `api_gateway_error` / `upstream_error` (UpstreamError): the target failed after retries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from agents.appkeys.ports import (
    AppKey,
    AppKeyRepository,
    DeploymentLookup,
    KeyBackend,
    KeyCache,
    LimitOverrides,
)
from agents.errors import Conflict, InvalidRequest, NotFound, UpstreamError
from agents.pipeline import JobContext, Pipeline
from agents.protocol import (
    ApiKeyCreated,
    ApiKeyCreatedData,
    ApiKeyDeleted,
    ApiKeyDeletedData,
    CreateApiKeyRequest,
    DeleteApiKeyRequest,
    Event,
)


@dataclass(frozen=True)
class AppKeyDeps:
    deployments: DeploymentLookup
    keys: AppKeyRepository
    backends: Mapping[str, KeyBackend]  # by deployment target, e.g. {"local": ..., "aws": ...}
    key_cache: KeyCache | None = None  # the local gateway's cache, invalidated on delete


def _backend(deps: AppKeyDeps, target: str) -> KeyBackend:
    backend = deps.backends.get(target)
    if backend is None:
        raise Conflict(
            f"API keys are not available for deployment target {target!r}",
            code="unsupported_target",
        )
    return backend


def _key_not_found(key_id: str) -> NotFound:
    return NotFound(
        f"API key {key_id!r} was not found in this project (or was already deleted)",
        code="key_not_found",
    )


async def create_key(
    deps: AppKeyDeps, workspace_id: str, request: CreateApiKeyRequest
) -> ApiKeyCreatedData:
    app = await deps.deployments.get_deployed(workspace_id, request.project_id)
    if app is None:
        raise Conflict(
            f"Project {request.project_id!r} is not deployed. Deploy it first with /deploy.",
            code="not_deployed",
        )
    if not app.endpoint:
        raise UpstreamError(
            f"The deployment of {request.project_id!r} has no endpoint yet", code="no_endpoint"
        )
    backend = _backend(deps, app.target)
    name = request.key_name or f"{app.app_id}-key"
    overrides = LimitOverrides(
        rate_limit=request.rate_limit,
        burst_limit=request.burst_limit,
        quota_limit=request.quota_limit,
        quota_period=request.quota_period,
    )
    issued = await backend.issue(
        app,
        workspace_id=workspace_id,
        project_id=request.project_id,
        name=name,
        overrides=overrides,
    )
    record = AppKey(
        key_id=issued.key_id,
        workspace_id=workspace_id,
        project_id=request.project_id,
        app_id=app.app_id,
        target=app.target,
        name=name,
        usage_plan_id=issued.usage_plan_id,
        dedicated_plan=issued.dedicated_plan,
        key_hash=issued.key_hash,
    )
    try:
        await deps.keys.add_key(record)
    except BaseException:
        await backend.revoke(record)  # do not leave a working key nobody can delete
        raise
    return ApiKeyCreatedData(
        api_key_value=issued.value,
        api_key_id=issued.key_id,
        usage_plan_id=issued.usage_plan_id,
        api_endpoint=app.endpoint,
    )


async def _revoke(deps: AppKeyDeps, key: AppKey) -> bool:
    """Remove at the target first (retry-safe), then mark deleted; True if this call did it."""
    await _backend(deps, key.target).revoke(key)
    done = await deps.keys.mark_deleted(key.workspace_id, key.key_id)
    if key.key_hash is not None and deps.key_cache is not None:
        deps.key_cache.invalidate(key.key_hash)
    return done


async def delete_key(deps: AppKeyDeps, workspace_id: str, request: DeleteApiKeyRequest) -> str:
    key = await deps.keys.get_key(workspace_id, request.project_id, request.api_key_id)
    if key is None or not key.active:
        raise _key_not_found(request.api_key_id)
    if request.usage_plan_id is not None and request.usage_plan_id != key.usage_plan_id:
        raise InvalidRequest(
            f"API key {key.key_id!r} is not on usage plan {request.usage_plan_id!r}",
            code="usage_plan_mismatch",
        )
    if not await _revoke(deps, key):
        raise _key_not_found(request.api_key_id)  # a concurrent delete won
    return key.key_id


async def revoke_all_for_app(deps: AppKeyDeps, workspace_id: str, project_id: str) -> int:
    """Delete every live key of the project's app (teardown); returns how many were deleted."""
    count = 0
    for key in await deps.keys.list_keys(workspace_id, project_id):
        if await _revoke(deps, key):
            count += 1
    return count


def create_api_key_pipeline(deps: AppKeyDeps) -> Pipeline:
    async def run(request: CreateApiKeyRequest, ctx: JobContext) -> AsyncIterator[Event]:
        yield ApiKeyCreated(data=await create_key(deps, ctx.workspace_id, request))

    return run


def delete_api_key_pipeline(deps: AppKeyDeps) -> Pipeline:
    async def run(request: DeleteApiKeyRequest, ctx: JobContext) -> AsyncIterator[Event]:
        key_id = await delete_key(deps, ctx.workspace_id, request)
        yield ApiKeyDeleted(data=ApiKeyDeletedData(api_key_id=key_id))

    return run
