"""The project store port: research projects and the reports each produced.

A research job creates the project (status "running"), records every uploaded report as it is
stored, then completes or fails it. Chat and getspec find reports through `get_project` or
`find_report_by_url`. Every method takes `workspace_id`; another workspace's projects do not
exist for it (`agents.errors.NotFound`). Implemented in server/db/research.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

ProjectStatus = Literal["running", "complete", "failed"]


@dataclass(frozen=True)
class ReportRef:
    file_type: str  # one of agents.protocol.FileType
    key: str
    url: str
    content_type: str
    size: int


@dataclass(frozen=True)
class NewProject:
    user_id: str
    session_id: str
    company_name: str
    company_url: str
    prompt: str
    depth: str = "standard"
    language: str = "en"


@dataclass(frozen=True)
class ProjectRecord:
    project_id: str
    workspace_id: str
    user_id: str
    session_id: str
    company_name: str
    company_url: str
    prompt: str
    depth: str
    language: str
    status: ProjectStatus
    created_at: datetime
    updated_at: datetime
    error: str | None = None
    reports: Mapping[str, ReportRef] = field(default_factory=dict)
    use_cases: Sequence[Mapping[str, Any]] = ()
    usage: Mapping[str, Any] = field(default_factory=dict)


class ProjectStore(Protocol):
    async def create_project(self, workspace_id: str, project: NewProject) -> str:
        """Create a running project and return its new id."""
        ...

    async def add_report(self, workspace_id: str, project_id: str, report: ReportRef) -> None:
        """Record (or replace) the report of `report.file_type` for the project."""
        ...

    async def complete_project(
        self,
        workspace_id: str,
        project_id: str,
        *,
        use_cases: Sequence[Mapping[str, Any]],
        usage: Mapping[str, Any],
    ) -> None: ...

    async def fail_project(self, workspace_id: str, project_id: str, *, error: str) -> None: ...

    async def get_project(self, workspace_id: str, project_id: str) -> ProjectRecord:
        """The project with its reports; NotFound if it is not this workspace's."""
        ...

    async def list_projects(
        self, workspace_id: str, *, user_id: str | None = None, limit: int = 50
    ) -> list[ProjectRecord]:
        """Newest first."""
        ...

    async def find_report_by_url(
        self, workspace_id: str, url: str
    ) -> tuple[ProjectRecord, ReportRef] | None:
        """The workspace's report stored at `url` (and its project), if any."""
        ...
