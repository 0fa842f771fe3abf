"""GET /v1/projects and GET /v1/projects/{id}.

A research key sees its workspace's research projects (reports with artifact URLs, use cases);
a ControlHub key its workspace's spec projects (versions) and their deployment. Artifact URLs are
made afresh by the artifact store when the service has one (signed/presigned URLs expire).
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response

from agents.errors import NotFound
from agents.protocol import Scope
from agents.research.store import ProjectRecord
from server.api.auth import ApiError, Caller
from server.api.jobs import _json, int_param, safe_id
from server.api.models import (
    DeploymentInfo,
    ProjectDetail,
    ProjectList,
    ProjectSummary,
    ReportFile,
    ResearchSection,
    SpecSection,
    SpecVersionInfo,
)
from server.db.deployments import SqlDeploymentStore
from server.db.research import ResearchRepository
from server.db.specs import SpecProjectRow, SqlSpecStore


class UrlMaker(Protocol):
    def url_for(self, key: str) -> str: ...


class ProjectsApi:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], artifacts: UrlMaker | None
    ) -> None:
        self._sessions = sessions
        self._research = ResearchRepository(sessions)
        self._specs = SqlSpecStore(sessions)
        self._deployments = SqlDeploymentStore(sessions)
        self._artifacts = artifacts

    async def index(self, request: Request, caller: Caller) -> Response:
        limit = int_param(request, "limit", 50, low=1, high=200)
        if caller.principal.scope is Scope.UCT:
            projects = [
                ProjectSummary(
                    project_id=p.project_id,
                    kind="research",
                    status=p.status,
                    created_at=p.created_at,
                    title=p.company_name,
                )
                for p in await self._research.list_projects(caller.workspace_id, limit=limit)
            ]
        else:
            projects = await self._spec_projects(caller.workspace_id, limit)
        return _json(ProjectList(projects=projects))

    async def _spec_projects(self, workspace_id: str, limit: int) -> list[ProjectSummary]:
        query = (
            select(SpecProjectRow)
            .where(SpecProjectRow.workspace_id == workspace_id)
            .order_by(SpecProjectRow.created_at.desc(), SpecProjectRow.project_id)
            .limit(limit)
        )
        async with self._sessions() as s:
            rows = list(await s.scalars(query))
        out = []
        for row in rows:
            deployment = await self._deployments.get(workspace_id, row.project_id)
            out.append(
                ProjectSummary(
                    project_id=row.project_id,
                    kind="spec",
                    status=deployment.status if deployment else "designed",
                    created_at=row.created_at,
                    title=row.project_id,
                )
            )
        return out

    async def get(self, request: Request, caller: Caller) -> Response:
        project_id = safe_id(request.path_params["project_id"])
        if caller.principal.scope is Scope.UCT:
            try:
                record = await self._research.get_project(caller.workspace_id, project_id)
            except NotFound as exc:
                raise ApiError(404, f"no project {project_id!r} visible to this key") from exc
            detail = ProjectDetail(
                project_id=project_id,
                kind="research",
                research=self._research_section(record),
                spec=None,
                deployment=None,
            )
            return _json(detail)
        history = await self._specs.history(caller.workspace_id, project_id)
        deployment = await self._deployments.get(caller.workspace_id, project_id)
        if not history and deployment is None:
            raise ApiError(404, f"no project {project_id!r} visible to this key")
        spec = None
        if history:
            async with self._sessions() as s:
                row = await s.get(SpecProjectRow, (caller.workspace_id, project_id))
            latest = history[-1].version
            spec = SpecSection(
                created_at=row.created_at if row else history[0].created_at,
                current_version=latest,
                deployed_version=history[-1].deployed_version,
                versions=[
                    SpecVersionInfo(
                        version=v.version,
                        created_at=v.created_at,
                        action=v.action,
                        user_id=v.user_id,
                        instruction=v.instruction,
                        current=v.version == latest,
                        deployed=v.status == "deployed",
                    )
                    for v in history
                ],
            )
        info = None
        if deployment is not None:
            info = DeploymentInfo(
                app_id=deployment.app_id,
                target=deployment.target,
                status=deployment.status,
                repo_url=deployment.repo_url,
                endpoint=deployment.endpoint,
                spec_version=deployment.spec_version,
                updated_at=deployment.updated_at or deployment.created_at,
            )
        return _json(
            ProjectDetail(
                project_id=project_id, kind="spec", research=None, spec=spec, deployment=info
            )
        )

    def _url(self, key: str, stored: str) -> str:
        if self._artifacts is None:
            return stored
        try:
            return self._artifacts.url_for(key)
        except Exception:  # a key the current store cannot sign (e.g. store changed): keep it
            return stored

    def _research_section(self, record: ProjectRecord) -> ResearchSection:
        reports = [
            ReportFile(
                file_type=ref.file_type,
                url=self._url(ref.key, ref.url),
                content_type=ref.content_type,
                size=ref.size,
            )
            for ref in sorted(record.reports.values(), key=lambda r: r.file_type)
        ]
        use_cases: list[dict[str, Any]] = [dict(u) for u in record.use_cases]
        return ResearchSection(
            status=record.status,
            company_name=record.company_name,
            company_url=record.company_url,
            prompt=record.prompt,
            depth=record.depth,
            error=record.error,
            created_at=record.created_at,
            updated_at=record.updated_at,
            reports=reports,
            use_cases=use_cases,
        )
