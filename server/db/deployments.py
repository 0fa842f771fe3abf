"""Deployments and app-id allocation (implements agents.deploy.targets.base.DeploymentStore).

`apps` allocates app ids: app_id is the primary key and (workspace_id, project_id) is unique, so
an id names exactly one project of one workspace. `allocate_app` inserts `<slug>-<random>` under
those constraints (retrying on a clash) and returns the same id for a project forever after.
Every read of a deployment joins its app row on the exact workspace and project; `save` refuses
an app id allocated to anyone else, so no record, route, repository or process can be shared.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from agents.deploy.targets.base import (
    AppIdTaken,
    AppOwner,
    DeploymentRecord,
    DeploymentStatus,
    new_app_id,
)
from server.db.base import Base, new_id, utcnow

ALLOCATE_ATTEMPTS = 8


class AppRow(Base):
    __tablename__ = "apps"
    __table_args__ = (
        UniqueConstraint("workspace_id", "project_id", name="apps_workspace_project"),
    )

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(200))
    project_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        candidate_id: Callable[[str], str] = new_app_id,
    ) -> None:
        self._sessions = sessions
        self._candidate_id = candidate_id  # project id -> a fresh app id to try

    async def _row(
        self, s: AsyncSession, workspace_id: str, project_id: str
    ) -> DeploymentRow | None:
        stmt = (
            select(DeploymentRow)
            .join(AppRow, AppRow.app_id == DeploymentRow.app_id)
            .where(
                DeploymentRow.workspace_id == workspace_id,
                DeploymentRow.project_id == project_id,
                AppRow.workspace_id == workspace_id,
                AppRow.project_id == project_id,
            )
        )
        return (await s.execute(stmt)).scalar_one_or_none()

    # -- app ids -------------------------------------------------------------------------------

    async def _app_of(self, s: AsyncSession, workspace_id: str, project_id: str) -> str | None:
        stmt = select(AppRow.app_id).where(
            AppRow.workspace_id == workspace_id, AppRow.project_id == project_id
        )
        return (await s.execute(stmt)).scalar_one_or_none()

    async def allocate_app(self, workspace_id: str, project_id: str) -> str:
        """The project's app id: allocated once (unique by constraint), the same ever after."""
        for _ in range(ALLOCATE_ATTEMPTS):
            try:
                async with self._sessions() as s, s.begin():
                    found = await self._app_of(s, workspace_id, project_id)
                    if found is not None:
                        return found
                    app_id = self._candidate_id(project_id)
                    s.add(AppRow(app_id=app_id, workspace_id=workspace_id, project_id=project_id))
                    await s.flush()
                    return app_id
            except IntegrityError:
                continue  # the id was taken, or the project was allocated concurrently
        raise RuntimeError(f"could not allocate an app id in {ALLOCATE_ATTEMPTS} attempts")

    async def app_owner(self, app_id: str) -> AppOwner | None:
        async with self._sessions() as s:
            row = await s.get(AppRow, app_id)
            return AppOwner(row.workspace_id, row.project_id) if row is not None else None

    async def _claim(self, s: AsyncSession, record: DeploymentRecord) -> None:
        """Make sure `record.app_id` is the app of exactly (workspace, project), or refuse."""
        row = await s.get(AppRow, record.app_id)
        if row is not None:
            if (row.workspace_id, row.project_id) != (record.workspace_id, record.project_id):
                raise AppIdTaken(record.app_id)
            return
        if await self._app_of(s, record.workspace_id, record.project_id) is not None:
            raise AppIdTaken(record.app_id)  # the project already has another app id
        s.add(
            AppRow(
                app_id=record.app_id,
                workspace_id=record.workspace_id,
                project_id=record.project_id,
            )
        )
        await s.flush()

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
            await self._claim(s, record)
            stmt = select(DeploymentRow).where(
                DeploymentRow.workspace_id == record.workspace_id,
                DeploymentRow.project_id == record.project_id,
            )
            row = (await s.execute(stmt)).scalar_one_or_none()
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
                .join(AppRow, AppRow.app_id == DeploymentRow.app_id)
                .where(
                    DeploymentRow.target == target,
                    DeploymentRow.status == "deployed",
                    AppRow.workspace_id == DeploymentRow.workspace_id,
                    AppRow.project_id == DeploymentRow.project_id,
                )
                .order_by(DeploymentRow.created_at)
            )
            return [_record(r) for r in (await s.execute(stmt)).scalars()]
