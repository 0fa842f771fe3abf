"""Response models of the read API; the OpenAPI document is generated from them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _utc(value: datetime) -> datetime:
    """The database gives naive UTC times (SQLite); answer RFC 3339 with the offset."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Timestamp = Annotated[datetime, AfterValidator(_utc)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(_Model):
    """Every non-2xx answer."""

    detail: str = Field(description="what was wrong, in words")


class JobOutcome(_Model):
    """How a finished job ended."""

    close_code: int | None = Field(description="the WebSocket close code its sockets got")
    error: str | None = Field(description="error code of its error event, if any")
    final_event: dict[str, Any] | None = Field(
        description="its last event (e.g. research's `complete` with the artifact URLs)"
    )


class JobSummary(_Model):
    job_id: str
    route: str = Field(description="the WebSocket route that started it, e.g. research")
    state: str = Field(description="running | succeeded | failed | cancelled")
    created_at: Timestamp
    finished_at: Timestamp | None
    last_seq: int = Field(description="seq of its newest stored event (resume with since=this)")
    progress_percent: int | None = Field(description="latest progress reported by its events")
    message: str | None = Field(description="latest status message")
    project_id: str | None = Field(description="project named by its events, when any")


class JobList(_Model):
    jobs: list[JobSummary]


class JobDetail(JobSummary):
    outcome: JobOutcome | None = Field(description="null while running")
    events_url: str = Field(description="GET it with ?since=N for the events as JSON lines")
    attach_url: str = Field(description="WebSocket URL that resumes the job (add api_key)")


class CancelAccepted(_Model):
    job_id: str
    state: str
    cancel_requested: bool


class ReportFile(_Model):
    file_type: str
    url: str
    content_type: str
    size: int


class ResearchSection(_Model):
    status: str
    company_name: str
    company_url: str
    prompt: str
    depth: str
    error: str | None
    created_at: Timestamp
    updated_at: Timestamp
    reports: list[ReportFile]
    use_cases: list[dict[str, Any]]


class SpecVersionInfo(_Model):
    version: int
    created_at: Timestamp
    action: str
    user_id: str
    instruction: str | None
    current: bool
    deployed: bool


class SpecSection(_Model):
    created_at: Timestamp
    current_version: int | None
    deployed_version: int | None
    versions: list[SpecVersionInfo]


class DeploymentInfo(_Model):
    app_id: str
    target: str
    status: str
    repo_url: str | None
    endpoint: str | None
    spec_version: int | None
    updated_at: Timestamp | None


class ProjectSummary(_Model):
    project_id: str
    kind: str = Field(description="research (research keys) or spec (ControlHub keys)")
    status: str
    created_at: Timestamp
    title: str = Field(description="company name for research, project id for specs")


class ProjectList(_Model):
    projects: list[ProjectSummary]


class ProjectDetail(_Model):
    project_id: str
    kind: str
    research: ResearchSection | None = Field(description="research keys: reports and artifacts")
    spec: SpecSection | None = Field(description="ControlHub keys: spec versions")
    deployment: DeploymentInfo | None = Field(description="ControlHub keys: the deployment")


SCHEMAS: tuple[type[BaseModel], ...] = (
    Problem,
    JobSummary,
    JobList,
    JobDetail,
    JobOutcome,
    CancelAccepted,
    ProjectList,
    ProjectDetail,
)
