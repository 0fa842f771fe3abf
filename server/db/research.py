"""Research projects and their stored reports in SQL.

Implements agents.research.store.ProjectStore. Every query filters on workspace_id, so another
workspace's project does not exist for the caller (NotFound).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from agents.errors import NotFound
from agents.research.store import NewProject, ProjectRecord, ProjectStatus, ReportRef
from server.db.base import Base, new_id, utcnow


class ResearchProjectRow(Base):
    __tablename__ = "research_projects"
    __table_args__ = (Index("ix_research_projects_ws_created", "workspace_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(200), index=True)
    user_id: Mapped[str] = mapped_column(String(200))
    session_id: Mapped[str] = mapped_column(String(200))
    company_name: Mapped[str] = mapped_column(String(200))
    company_url: Mapped[str] = mapped_column(String(2000))
    prompt: Mapped[str] = mapped_column(Text)
    depth: Mapped[str] = mapped_column(String(16), default="standard")
    language: Mapped[str] = mapped_column(String(16), default="en")
    status: Mapped[str] = mapped_column(String(16), default="running")
    error: Mapped[str | None] = mapped_column(Text, default=None)
    use_cases: Mapped[list[Any]] = mapped_column(JSON, default=list)
    usage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    reports: Mapped[list[ResearchReportRow]] = relationship(
        back_populates="project", cascade="all, delete-orphan", lazy="raise"
    )


class ResearchReportRow(Base):
    __tablename__ = "research_reports"
    __table_args__ = (UniqueConstraint("project_id", "file_type"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("research_projects.id", ondelete="CASCADE"), index=True
    )
    workspace_id: Mapped[str] = mapped_column(String(200))
    file_type: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(1000))
    url: Mapped[str] = mapped_column(String(2000), index=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    project: Mapped[ResearchProjectRow] = relationship(back_populates="reports", lazy="raise")


def _ref(row: ResearchReportRow) -> ReportRef:
    return ReportRef(row.file_type, row.key, row.url, row.content_type, row.size)


def _record(row: ResearchProjectRow) -> ProjectRecord:
    return ProjectRecord(
        project_id=row.id,
        workspace_id=row.workspace_id,
        user_id=row.user_id,
        session_id=row.session_id,
        company_name=row.company_name,
        company_url=row.company_url,
        prompt=row.prompt,
        depth=row.depth,
        language=row.language,
        status=cast(ProjectStatus, row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        error=row.error,
        reports={r.file_type: _ref(r) for r in row.reports},
        use_cases=list(row.use_cases or []),
        usage=dict(row.usage or {}),
    )


class ResearchRepository:
    """SQL implementation of agents.research.store.ProjectStore."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def _project(
        self, session: AsyncSession, workspace_id: str, project_id: str, *, reports: bool = False
    ) -> ResearchProjectRow:
        query = select(ResearchProjectRow).where(
            ResearchProjectRow.id == project_id, ResearchProjectRow.workspace_id == workspace_id
        )
        if reports:
            query = query.options(selectinload(ResearchProjectRow.reports))
        row = (await session.execute(query)).scalar_one_or_none()
        if row is None:
            raise NotFound(f"No research project {project_id!r} in this workspace.")
        return row

    async def create_project(self, workspace_id: str, project: NewProject) -> str:
        project_id = new_id("proj")
        async with self._sessions.begin() as session:
            session.add(
                ResearchProjectRow(
                    id=project_id,
                    workspace_id=workspace_id,
                    user_id=project.user_id,
                    session_id=project.session_id,
                    company_name=project.company_name,
                    company_url=project.company_url,
                    prompt=project.prompt,
                    depth=project.depth,
                    language=project.language,
                    status="running",
                    use_cases=[],
                    usage={},
                )
            )
        return project_id

    async def add_report(self, workspace_id: str, project_id: str, report: ReportRef) -> None:
        async with self._sessions.begin() as session:
            project = await self._project(session, workspace_id, project_id)
            existing = (
                await session.execute(
                    select(ResearchReportRow).where(
                        ResearchReportRow.project_id == project_id,
                        ResearchReportRow.file_type == report.file_type,
                    )
                )
            ).scalar_one_or_none()
            row = existing or ResearchReportRow(
                project_id=project_id, workspace_id=workspace_id, file_type=report.file_type
            )
            row.key, row.url = report.key, report.url
            row.content_type, row.size = report.content_type, report.size
            row.created_at = utcnow()
            if existing is None:
                session.add(row)
            project.updated_at = utcnow()

    async def complete_project(
        self,
        workspace_id: str,
        project_id: str,
        *,
        use_cases: Sequence[Mapping[str, Any]],
        usage: Mapping[str, Any],
    ) -> None:
        async with self._sessions.begin() as session:
            project = await self._project(session, workspace_id, project_id)
            project.status = "complete"
            project.error = None
            project.use_cases = [dict(u) for u in use_cases]
            project.usage = dict(usage)
            project.updated_at = utcnow()

    async def fail_project(self, workspace_id: str, project_id: str, *, error: str) -> None:
        async with self._sessions.begin() as session:
            project = await self._project(session, workspace_id, project_id)
            project.status = "failed"
            project.error = error[:4000]
            project.updated_at = utcnow()

    async def get_project(self, workspace_id: str, project_id: str) -> ProjectRecord:
        async with self._sessions() as session:
            return _record(await self._project(session, workspace_id, project_id, reports=True))

    async def list_projects(
        self, workspace_id: str, *, user_id: str | None = None, limit: int = 50
    ) -> list[ProjectRecord]:
        query = (
            select(ResearchProjectRow)
            .where(ResearchProjectRow.workspace_id == workspace_id)
            .options(selectinload(ResearchProjectRow.reports))
            .order_by(ResearchProjectRow.created_at.desc(), ResearchProjectRow.id.desc())
            .limit(max(1, min(limit, 500)))
        )
        if user_id is not None:
            query = query.where(ResearchProjectRow.user_id == user_id)
        async with self._sessions() as session:
            return [_record(r) for r in (await session.execute(query)).scalars()]

    async def find_report_by_url(
        self, workspace_id: str, url: str
    ) -> tuple[ProjectRecord, ReportRef] | None:
        async with self._sessions() as session:
            report = (
                await session.execute(
                    select(ResearchReportRow)
                    .where(
                        ResearchReportRow.url == url,
                        ResearchReportRow.workspace_id == workspace_id,
                    )
                    .order_by(ResearchReportRow.id.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
            if report is None:
                return None
            project = await self._project(session, workspace_id, report.project_id, reports=True)
            return _record(project), _ref(report)
