"""Spec versions in SQL: one row per project, one immutable row per version.

Implements agents.spec.store.SpecStore. Rows are keyed by (workspace_id, project_id[, version]),
so a project id used in one workspace does not exist for any other workspace.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, Integer, String, Text, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from agents.errors import Conflict, NotFound
from agents.spec.store import SpecAction, SpecVersion
from server.db.base import Base, utcnow

SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]


class SpecProjectRow(Base):
    __tablename__ = "spec_projects"

    workspace_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deployed_version: Mapped[int | None] = mapped_column(Integer, default=None)
    deployed_at: Mapped[datetime | None] = mapped_column(default=None)


class SpecVersionRow(Base):
    __tablename__ = "spec_versions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "project_id"],
            ["spec_projects.workspace_id", "spec_projects.project_id"],
            ondelete="CASCADE",
        ),
    )

    workspace_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(16))
    instruction: Mapped[str | None] = mapped_column(Text, default=None)
    user_id: Mapped[str] = mapped_column(String(200))
    spec_json: Mapped[str] = mapped_column(Text)


def _to_version(row: SpecVersionRow, deployed: int | None) -> SpecVersion:
    action: SpecAction
    if row.action == "generate":
        action = "generate"
    elif row.action == "update":
        action = "update"
    else:
        action = "rollback"
    return SpecVersion(
        workspace_id=row.workspace_id,
        project_id=row.project_id,
        version=row.version,
        created_at=row.created_at,
        action=action,
        instruction=row.instruction,
        user_id=row.user_id,
        spec_json=row.spec_json,
        deployed_version=deployed,
    )


class SqlSpecStore:
    """SpecStore on SQLAlchemy async sessions (SQLite or PostgreSQL)."""

    def __init__(self, sessions: SessionFactory):
        self._sessions = sessions

    async def append(
        self,
        workspace_id: str,
        project_id: str,
        *,
        user_id: str,
        action: SpecAction,
        instruction: str | None,
        spec_json: str,
        expected_latest: int | None = None,
    ) -> SpecVersion:
        try:
            async with self._sessions() as session, session.begin():
                project = await session.get(SpecProjectRow, (workspace_id, project_id))
                if project is None:
                    project = SpecProjectRow(
                        workspace_id=workspace_id, project_id=project_id, created_by=user_id
                    )
                    session.add(project)
                    await session.flush()
                latest = await session.scalar(
                    select(func.max(SpecVersionRow.version)).where(
                        SpecVersionRow.workspace_id == workspace_id,
                        SpecVersionRow.project_id == project_id,
                    )
                )
                latest = latest or 0
                if expected_latest is not None and latest != expected_latest:
                    raise Conflict(
                        f"The spec of project {project_id} changed meanwhile "
                        f"(now version {latest}); retry."
                    )
                row = SpecVersionRow(
                    workspace_id=workspace_id,
                    project_id=project_id,
                    version=latest + 1,
                    created_at=utcnow(),
                    action=action,
                    instruction=instruction,
                    user_id=user_id,
                    spec_json=spec_json,
                )
                session.add(row)
                await session.flush()
                return _to_version(row, project.deployed_version)
        except IntegrityError as exc:
            # A concurrent append took the same version number (or created the project).
            raise Conflict(f"The spec of project {project_id} changed meanwhile; retry.") from exc

    async def _deployed(
        self, session: AsyncSession, workspace_id: str, project_id: str
    ) -> int | None:
        project = await session.get(SpecProjectRow, (workspace_id, project_id))
        return project.deployed_version if project is not None else None

    async def current(self, workspace_id: str, project_id: str) -> SpecVersion | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(SpecVersionRow)
                .where(
                    SpecVersionRow.workspace_id == workspace_id,
                    SpecVersionRow.project_id == project_id,
                )
                .order_by(SpecVersionRow.version.desc())
                .limit(1)
            )
            if row is None:
                return None
            return _to_version(row, await self._deployed(session, workspace_id, project_id))

    async def get_version(
        self, workspace_id: str, project_id: str, version: int
    ) -> SpecVersion | None:
        async with self._sessions() as session:
            row = await session.get(SpecVersionRow, (workspace_id, project_id, version))
            if row is None:
                return None
            return _to_version(row, await self._deployed(session, workspace_id, project_id))

    async def history(self, workspace_id: str, project_id: str) -> list[SpecVersion]:
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(SpecVersionRow)
                    .where(
                        SpecVersionRow.workspace_id == workspace_id,
                        SpecVersionRow.project_id == project_id,
                    )
                    .order_by(SpecVersionRow.version)
                )
            ).all()
            deployed = await self._deployed(session, workspace_id, project_id)
            return [_to_version(r, deployed) for r in rows]

    async def mark_deployed(self, workspace_id: str, project_id: str, version: int) -> None:
        async with self._sessions() as session, session.begin():
            row = await session.get(SpecVersionRow, (workspace_id, project_id, version))
            project = await session.get(SpecProjectRow, (workspace_id, project_id))
            if row is None or project is None:
                raise NotFound(f"Project {project_id} has no spec version {version}.")
            project.deployed_version = version
            project.deployed_at = utcnow()
