"""App API keys, usage plans and daily usage (implements agents.appkeys.ports.AppKeyRepository).

Tables:
- app_usage_plans: local-target plans (rate, burst, optional quota);
- app_api_keys: one row per key of either target; `key_hash` (SHA-256 hex) for local keys only;
- app_key_usage: requests per key per UTC day, counted by the local gateway.

Quota checks are atomic and global: one transaction increments today's row (which takes the
row's write lock) and then sums the period; when that passes the limit it rolls back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from agents.appkeys.plans import period_end, period_start
from agents.appkeys.ports import (
    ActiveKey,
    AppKey,
    DailyUsage,
    PlanLimits,
    QuotaDecision,
    QuotaPeriod,
    UsagePlan,
)
from server.db.base import Base, utcnow


class UsagePlanRow(Base):
    __tablename__ = "app_usage_plans"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(200), index=True)
    project_id: Mapped[str] = mapped_column(String(200))
    app_id: Mapped[str] = mapped_column(String(200), index=True)
    rate_limit: Mapped[float] = mapped_column(Float)
    burst_limit: Mapped[int] = mapped_column(Integer)
    quota_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    quota_period: Mapped[str | None] = mapped_column(String(8), nullable=True)
    dedicated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)


class AppKeyRow(Base):
    __tablename__ = "app_api_keys"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(200), index=True)
    project_id: Mapped[str] = mapped_column(String(200))
    app_id: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(String(40))
    name: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    usage_plan_id: Mapped[str] = mapped_column(String(128))
    dedicated_plan: Mapped[bool] = mapped_column(Boolean, default=False)
    key_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)


class AppKeyUsageRow(Base):
    __tablename__ = "app_key_usage"

    key_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("app_api_keys.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(200), index=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


def _plan(row: UsagePlanRow) -> UsagePlan:
    return UsagePlan(
        plan_id=row.id,
        workspace_id=row.workspace_id,
        project_id=row.project_id,
        app_id=row.app_id,
        limits=PlanLimits(
            rate_limit=row.rate_limit,
            burst_limit=row.burst_limit,
            quota_limit=row.quota_limit,
            quota_period=cast(QuotaPeriod | None, row.quota_period),
        ),
        dedicated=row.dedicated,
    )


def _key(row: AppKeyRow) -> AppKey:
    return AppKey(
        key_id=row.id,
        workspace_id=row.workspace_id,
        project_id=row.project_id,
        app_id=row.app_id,
        target=row.target,
        name=row.name,
        usage_plan_id=row.usage_plan_id,
        dedicated_plan=row.dedicated_plan,
        key_hash=row.key_hash,
        created_at=row.created_at,
        deleted_at=row.deleted_at,
    )


class _OverQuota(Exception):
    def __init__(self, used: int) -> None:
        self.used = used


class SqlAppKeyRepository:
    """SQLAlchemy repository; another workspace's rows are never returned or changed."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    # -- plans ----------------------------------------------------------------------------------

    async def add_plan(self, plan: UsagePlan) -> UsagePlan:
        async with self._sessions() as s, s.begin():
            s.add(
                UsagePlanRow(
                    id=plan.plan_id,
                    workspace_id=plan.workspace_id,
                    project_id=plan.project_id,
                    app_id=plan.app_id,
                    rate_limit=plan.limits.rate_limit,
                    burst_limit=plan.limits.burst_limit,
                    quota_limit=plan.limits.quota_limit,
                    quota_period=plan.limits.quota_period,
                    dedicated=plan.dedicated,
                )
            )
        return plan

    async def get_plan(self, workspace_id: str, plan_id: str) -> UsagePlan | None:
        async with self._sessions() as s:
            row = await s.get(UsagePlanRow, plan_id)
            if row is None or row.workspace_id != workspace_id or row.deleted_at is not None:
                return None
            return _plan(row)

    async def shared_plan(
        self, workspace_id: str, project_id: str, app_id: str
    ) -> UsagePlan | None:
        stmt = (
            select(UsagePlanRow)
            .where(
                UsagePlanRow.workspace_id == workspace_id,
                UsagePlanRow.project_id == project_id,
                UsagePlanRow.app_id == app_id,
                UsagePlanRow.dedicated.is_(False),
                UsagePlanRow.deleted_at.is_(None),
            )
            .order_by(UsagePlanRow.created_at)
            .limit(1)
        )
        async with self._sessions() as s:
            row = (await s.execute(stmt)).scalar_one_or_none()
            return _plan(row) if row is not None else None

    async def delete_plan(self, workspace_id: str, plan_id: str) -> None:
        stmt = (
            update(UsagePlanRow)
            .where(
                UsagePlanRow.id == plan_id,
                UsagePlanRow.workspace_id == workspace_id,
                UsagePlanRow.deleted_at.is_(None),
            )
            .values(deleted_at=utcnow())
        )
        async with self._sessions() as s, s.begin():
            await s.execute(stmt)

    # -- keys -----------------------------------------------------------------------------------

    async def add_key(self, key: AppKey) -> AppKey:
        row = AppKeyRow(
            id=key.key_id,
            workspace_id=key.workspace_id,
            project_id=key.project_id,
            app_id=key.app_id,
            target=key.target,
            name=key.name,
            usage_plan_id=key.usage_plan_id,
            dedicated_plan=key.dedicated_plan,
            key_hash=key.key_hash,
            created_at=key.created_at or utcnow(),
        )
        async with self._sessions() as s, s.begin():
            s.add(row)
        return _key(row)

    async def get_key(self, workspace_id: str, project_id: str, key_id: str) -> AppKey | None:
        async with self._sessions() as s:
            row = await s.get(AppKeyRow, key_id)
            if row is None or row.workspace_id != workspace_id or row.project_id != project_id:
                return None
            return _key(row)

    async def list_keys(
        self, workspace_id: str, project_id: str, *, include_deleted: bool = False
    ) -> list[AppKey]:
        stmt = select(AppKeyRow).where(
            AppKeyRow.workspace_id == workspace_id, AppKeyRow.project_id == project_id
        )
        if not include_deleted:
            stmt = stmt.where(AppKeyRow.deleted_at.is_(None))
        async with self._sessions() as s:
            rows = (await s.execute(stmt.order_by(AppKeyRow.created_at))).scalars()
            return [_key(r) for r in rows]

    async def mark_deleted(self, workspace_id: str, key_id: str) -> bool:
        stmt = (
            update(AppKeyRow)
            .where(
                AppKeyRow.id == key_id,
                AppKeyRow.workspace_id == workspace_id,
                AppKeyRow.deleted_at.is_(None),
            )
            .values(deleted_at=utcnow())
        )
        async with self._sessions() as s, s.begin():
            result = await s.execute(stmt)
            return cast(int, getattr(result, "rowcount", 0)) == 1

    # -- local gateway --------------------------------------------------------------------------

    async def find_active_key(
        self, workspace_id: str, project_id: str, key_hash: str
    ) -> ActiveKey | None:
        stmt = (
            select(AppKeyRow, UsagePlanRow)
            .join(UsagePlanRow, UsagePlanRow.id == AppKeyRow.usage_plan_id)
            .where(
                AppKeyRow.key_hash == key_hash,
                AppKeyRow.workspace_id == workspace_id,
                AppKeyRow.project_id == project_id,
                AppKeyRow.deleted_at.is_(None),
            )
        )
        async with self._sessions() as s:
            found = (await s.execute(stmt)).first()
            if found is None:
                return None
            key_row, plan_row = found
            return ActiveKey(key=_key(key_row), limits=_plan(plan_row).limits)

    def _upsert(self, s: AsyncSession, workspace_id: str, key_id: str, day: date) -> Any:
        dialect = s.get_bind().dialect.name
        insert_fn: Any = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert_fn(AppKeyUsageRow).values(
            key_id=key_id, day=day, workspace_id=workspace_id, count=1
        )
        return stmt.on_conflict_do_update(
            index_elements=[AppKeyUsageRow.key_id, AppKeyUsageRow.day],
            set_={"count": AppKeyUsageRow.count + 1},
        )

    async def consume(
        self, workspace_id: str, key_id: str, limits: PlanLimits, *, now: datetime
    ) -> QuotaDecision:
        today = now.astimezone(UTC).date()
        period = limits.quota_period if limits.quota_limit is not None else None
        used = 0
        try:
            async with self._sessions() as s, s.begin():
                await s.execute(self._upsert(s, workspace_id, key_id, today))
                if period is not None and limits.quota_limit is not None:
                    total = await s.scalar(
                        select(func.coalesce(func.sum(AppKeyUsageRow.count), 0)).where(
                            AppKeyUsageRow.key_id == key_id,
                            AppKeyUsageRow.workspace_id == workspace_id,
                            AppKeyUsageRow.day >= period_start(period, now),
                        )
                    )
                    used = int(total or 0)
                    if used > limits.quota_limit:
                        raise _OverQuota(used - 1)  # rolls the increment back
        except _OverQuota as over:
            return QuotaDecision(
                allowed=False,
                used=over.used,
                limit=limits.quota_limit,
                period=period,
                resets_at=period_end(period, now) if period else None,
            )
        return QuotaDecision(
            allowed=True,
            used=used,
            limit=limits.quota_limit,
            period=period,
            resets_at=period_end(period, now) if period else None,
        )

    async def usage(
        self, workspace_id: str, key_id: str, *, since: date | None = None
    ) -> list[DailyUsage]:
        stmt = select(AppKeyUsageRow.day, AppKeyUsageRow.count).where(
            AppKeyUsageRow.key_id == key_id, AppKeyUsageRow.workspace_id == workspace_id
        )
        if since is not None:
            stmt = stmt.where(AppKeyUsageRow.day >= since)
        async with self._sessions() as s:
            rows = (await s.execute(stmt.order_by(AppKeyUsageRow.day))).all()
            return [DailyUsage(day=d, count=c) for d, c in rows]
