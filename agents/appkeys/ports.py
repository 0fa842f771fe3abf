"""Ports of the app-key pipelines: where deployments, keys and plans come from and go to.

The pipelines (agents/appkeys/pipelines.py) see only these Protocols:

- `DeploymentLookup` answers "is this project deployed, where, on which target" (implemented by
  the deploy area's DeploymentStore: `get_deployed` returning a `DeploymentRecord`).
- `AppKeyRepository` keeps one row per key and per usage plan, for both targets, so ownership
  (workspace, project) is checked in one place and the local gateway can find keys by hash.
- `KeyBackend` is the target's adapter: the local gateway's key store, or API Gateway (boto3).
- `KeyCache` is the local gateway's in-process cache of keys; deleting a key invalidates it.

Every repository method takes `workspace_id`; rows of another workspace are invisible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

QuotaPeriod = Literal["DAY", "WEEK", "MONTH"]


class DeployedApp(Protocol):
    """What the pipelines need to know about a live deployment (read-only attributes)."""

    @property
    def app_id(self) -> str: ...

    @property
    def target(self) -> str: ...

    @property
    def endpoint(self) -> str | None: ...

    @property
    def usage_plan_id(self) -> str | None: ...


class DeploymentLookup(Protocol):
    async def get_deployed(self, workspace_id: str, project_id: str) -> DeployedApp | None:
        """The live deployment of the project, or None when it is not (or no longer) deployed."""
        ...


@dataclass(frozen=True)
class PlanLimits:
    """A usage plan: steady rate (requests/second), burst (bucket size) and optional quota."""

    rate_limit: float
    burst_limit: int
    quota_limit: int | None = None
    quota_period: QuotaPeriod | None = None


@dataclass(frozen=True)
class LimitOverrides:
    """The limits a /createapikey request asks for; None means "as the app's plan"."""

    rate_limit: float | None = None
    burst_limit: int | None = None
    quota_limit: int | None = None
    quota_period: QuotaPeriod | None = None

    @property
    def empty(self) -> bool:
        return (
            self.rate_limit is None
            and self.burst_limit is None
            and self.quota_limit is None
            and self.quota_period is None
        )


@dataclass(frozen=True)
class UsagePlan:
    plan_id: str
    workspace_id: str
    project_id: str
    app_id: str
    limits: PlanLimits
    dedicated: bool  # created for one key (deleted with it), else the app's shared plan


@dataclass(frozen=True)
class AppKey:
    """One API key of a deployed app. `key_hash` (SHA-256 hex) is set for local-target keys."""

    key_id: str
    workspace_id: str
    project_id: str
    app_id: str
    target: str
    name: str | None
    usage_plan_id: str
    dedicated_plan: bool
    key_hash: str | None = None
    created_at: datetime | None = None
    deleted_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.deleted_at is None


@dataclass(frozen=True)
class ActiveKey:
    """What the local gateway needs per request: the key and its plan."""

    key: AppKey
    limits: PlanLimits


@dataclass(frozen=True)
class QuotaDecision:
    allowed: bool
    used: int  # requests counted in the current period, including this one when allowed
    limit: int | None
    period: QuotaPeriod | None
    resets_at: datetime | None


@dataclass(frozen=True)
class DailyUsage:
    day: date
    count: int


class AppKeyRepository(Protocol):
    # Usage plans (local target; AWS plans live in API Gateway, only their ids are kept on keys)
    async def add_plan(self, plan: UsagePlan) -> UsagePlan: ...

    async def get_plan(self, workspace_id: str, plan_id: str) -> UsagePlan | None: ...

    async def shared_plan(
        self, workspace_id: str, project_id: str, app_id: str
    ) -> UsagePlan | None:
        """The app's shared (non-dedicated) local plan, if one was created."""
        ...

    async def delete_plan(self, workspace_id: str, plan_id: str) -> None: ...

    # Keys
    async def add_key(self, key: AppKey) -> AppKey: ...

    async def get_key(self, workspace_id: str, project_id: str, key_id: str) -> AppKey | None:
        """The key (deleted ones too, with `deleted_at`), or None if not in this workspace."""
        ...

    async def list_keys(
        self, workspace_id: str, project_id: str, *, include_deleted: bool = False
    ) -> list[AppKey]: ...

    async def mark_deleted(self, workspace_id: str, key_id: str) -> bool:
        """Mark the key deleted; True only for the call that did it (False if already deleted)."""
        ...

    # Local gateway
    async def find_active_key(
        self, workspace_id: str, project_id: str, key_hash: str
    ) -> ActiveKey | None: ...

    async def consume(
        self, workspace_id: str, key_id: str, limits: PlanLimits, *, now: datetime
    ) -> QuotaDecision:
        """Count one request for today unless that would exceed the quota (atomic, global)."""
        ...

    async def usage(
        self, workspace_id: str, key_id: str, *, since: date | None = None
    ) -> list[DailyUsage]:
        """Requests per day (UTC), oldest first."""
        ...


@dataclass(frozen=True)
class IssuedKey:
    """What a backend returns after creating a key (the value is shown once, never stored)."""

    key_id: str
    value: str
    usage_plan_id: str
    dedicated_plan: bool
    key_hash: str | None = None


class KeyBackend(Protocol):
    """A target's key adapter."""

    async def issue(
        self,
        app: DeployedApp,
        *,
        workspace_id: str,
        project_id: str,
        name: str,
        overrides: LimitOverrides,
    ) -> IssuedKey:
        """Create the key and attach it to a usage plan; undo partial work on failure."""
        ...

    async def revoke(self, key: AppKey) -> None:
        """Remove the key (and its dedicated plan); already-gone remote objects are fine."""
        ...


class KeyCache(Protocol):
    def invalidate(self, key_hash: str) -> None:
        """Forget a cached key so the next request re-reads the store (which says deleted)."""
        ...


BackendMap = Mapping[str, KeyBackend]
