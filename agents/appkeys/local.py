"""Key backend for apps on the local target: keys and plans live in the database.

The local gateway (server/gateway/) enforces them: it looks keys up by SHA-256 hash, applies the
plan's rate (token bucket, per process) and quota (counted in the database, global).
"""

from __future__ import annotations

from agents.appkeys.plans import hash_key, merge_limits, new_key_value, new_short_id
from agents.appkeys.ports import (
    AppKey,
    AppKeyRepository,
    DeployedApp,
    IssuedKey,
    LimitOverrides,
    PlanLimits,
    UsagePlan,
)


class LocalKeyBackend:
    """Issues keys for the local gateway; `default_limits` is the plan every app starts with."""

    def __init__(self, repo: AppKeyRepository, *, default_limits: PlanLimits) -> None:
        self._repo = repo
        self._default = default_limits

    async def _shared_plan(self, app: DeployedApp, workspace_id: str, project_id: str) -> UsagePlan:
        plan = await self._repo.shared_plan(workspace_id, project_id, app.app_id)
        if plan is not None:
            return plan
        return await self._repo.add_plan(
            UsagePlan(
                plan_id=f"up_{new_short_id()}",
                workspace_id=workspace_id,
                project_id=project_id,
                app_id=app.app_id,
                limits=self._default,
                dedicated=False,
            )
        )

    async def issue(
        self,
        app: DeployedApp,
        *,
        workspace_id: str,
        project_id: str,
        name: str,
        overrides: LimitOverrides,
    ) -> IssuedKey:
        shared = await self._shared_plan(app, workspace_id, project_id)
        limits = merge_limits(shared.limits, overrides)
        plan = shared
        if limits != shared.limits:
            plan = await self._repo.add_plan(
                UsagePlan(
                    plan_id=f"up_{new_short_id()}",
                    workspace_id=workspace_id,
                    project_id=project_id,
                    app_id=app.app_id,
                    limits=limits,
                    dedicated=True,
                )
            )
        value = new_key_value()
        return IssuedKey(
            key_id=new_short_id(),
            value=value,
            usage_plan_id=plan.plan_id,
            dedicated_plan=plan.dedicated,
            key_hash=hash_key(value),
        )

    async def revoke(self, key: AppKey) -> None:
        # The key row itself is marked deleted by the pipeline; that is what the gateway reads.
        if key.dedicated_plan:
            await self._repo.delete_plan(key.workspace_id, key.usage_plan_id)
