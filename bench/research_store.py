"""An in-memory ProjectStore (agents.research.store) with the same workspace rules as the SQL
one (server/db/research.py): the research benchmarks and the research tests use it (bench/
imports nothing of tests/)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from agents.errors import NotFound
from agents.research.store import NewProject, ProjectRecord, ReportRef


class MemoryProjectStore:
    """An in-memory ProjectStore with the same workspace rules as the SQL one."""

    def __init__(self) -> None:
        self.projects: dict[str, ProjectRecord] = {}
        self._n = 0

    def _get(self, workspace_id: str, project_id: str) -> ProjectRecord:
        rec = self.projects.get(project_id)
        if rec is None or rec.workspace_id != workspace_id:
            raise NotFound(project_id)
        return rec

    async def create_project(self, workspace_id: str, project: NewProject) -> str:
        self._n += 1
        pid = f"project{self._n}"
        now = datetime.now(UTC)
        self.projects[pid] = ProjectRecord(
            pid, workspace_id, project.user_id, project.session_id, project.company_name,
            project.company_url, project.prompt, project.depth, project.language, "running",
            now, now,
        )  # fmt: skip
        return pid

    async def add_report(self, workspace_id: str, project_id: str, report: ReportRef) -> None:
        rec = self._get(workspace_id, project_id)
        self.projects[project_id] = replace(rec, reports={**rec.reports, report.file_type: report})

    async def complete_project(
        self,
        workspace_id: str,
        project_id: str,
        *,
        use_cases: Sequence[Mapping[str, Any]],
        usage: Mapping[str, Any],
    ) -> None:
        rec = self._get(workspace_id, project_id)
        self.projects[project_id] = replace(
            rec, status="complete", use_cases=list(use_cases), usage=dict(usage)
        )

    async def fail_project(self, workspace_id: str, project_id: str, *, error: str) -> None:
        rec = self._get(workspace_id, project_id)
        self.projects[project_id] = replace(rec, status="failed", error=error)

    async def get_project(self, workspace_id: str, project_id: str) -> ProjectRecord:
        return self._get(workspace_id, project_id)

    async def list_projects(
        self, workspace_id: str, *, user_id: str | None = None, limit: int = 50
    ) -> list[ProjectRecord]:
        return [p for p in self.projects.values() if p.workspace_id == workspace_id][:limit]

    async def find_report_by_url(
        self, workspace_id: str, url: str
    ) -> tuple[ProjectRecord, ReportRef] | None:
        for p in self.projects.values():
            for r in p.reports.values():
                if p.workspace_id == workspace_id and r.url == url:
                    return p, r
        return None
