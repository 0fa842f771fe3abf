"""Deployments table and repository (implements agents.deploy.targets.base.DeploymentStore)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Integer, String, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from agents.deploy.targets.base import DeploymentRecord, DeploymentStatus
from server.db.base import Base, new_id, utcnow


class DeploymentRow(Base):
    __tablename__ = "deployments"
    __table_args__ = (UniqueConstraint("workspace_id", "project_id", name="workspace_project"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(200), index=True)
    project_id: Mapped[str] = mapped_column(String(200))
    app_id: Mapped[str] = mapped_column(String(100), index=True)
    target: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    repo_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    endpoint: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    spec_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    revision: Mapped[str | None] = mapped_column(String(80), nullable=True)
    usage_plan_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def _record(row: DeploymentRow) -> DeploymentRecord:
    return DeploymentRecord(
        workspace_id=row.workspace_id,
        project_id=row.project_id,
        app_id=row.app_id,
        target=row.target,
        status=cast(DeploymentStatus, row.status),
        repo_url=row.repo_url,
        endpoint=row.endpoint,
        spec_version=row.spec_version,
        revision=row.revision,
        usage_plan_id=row.usage_plan_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SqlDeploymentStore:
    """SQLAlchemy repository; another workspace's rows are never returned."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def _row(
        self, s: AsyncSession, workspace_id: str, project_id: str
    ) -> DeploymentRow | None:
        stmt = select(DeploymentRow).where(
            DeploymentRow.workspace_id == workspace_id, DeploymentRow.project_id == project_id
        )
        return (await s.execute(stmt)).scalar_one_or_none()

    async def get(self, workspace_id: str, project_id: str) -> DeploymentRecord | None:
        async with self._sessions() as s:
            row = await self._row(s, workspace_id, project_id)
            return _record(row) if row is not None else None

    async def get_deployed(self, workspace_id: str, project_id: str) -> DeploymentRecord | None:
        rec = await self.get(workspace_id, project_id)
        return rec if rec is not None and rec.status == "deployed" else None

    async def save(self, record: DeploymentRecord) -> DeploymentRecord:
        values: dict[str, Any] = {
            "app_id": record.app_id,
            "target": record.target,
            "status": record.status,
            "repo_url": record.repo_url,
            "endpoint": record.endpoint,
            "spec_version": record.spec_version,
            "revision": record.revision,
            "usage_plan_id": record.usage_plan_id,
        }
        async with self._sessions() as s, s.begin():
            row = await self._row(s, record.workspace_id, record.project_id)
            if row is None:
                row = DeploymentRow(
                    id=new_id("dep"),
                    workspace_id=record.workspace_id,
                    project_id=record.project_id,
                    **values,
                )
                s.add(row)
            else:
                for key, value in values.items():
                    setattr(row, key, value)
                row.updated_at = utcnow()
            await s.flush()
            return _record(row)

    async def list_deployed(self, *, target: str) -> list[DeploymentRecord]:
        async with self._sessions() as s:
            stmt = (
                select(DeploymentRow)
                .where(DeploymentRow.target == target, DeploymentRow.status == "deployed")
                .order_by(DeploymentRow.created_at)
            )
            return [_record(r) for r in (await s.execute(stmt)).scalars()]
