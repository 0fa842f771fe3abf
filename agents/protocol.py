"""The wire protocol: one pydantic model per request and per event.

Source of truth for validation, serialisation and the AsyncAPI document. Field names and shapes
follow ../shared/protocol-reference.md; everything marked *extension* is additive. The server adds
`job_id` and `seq` to every event it sends; they are not part of these models.

Two event "families" exist in the reference and are kept as they are:
- flat events (research, chat): fields at the top level, `session_id` alongside;
- enveloped events (getspec, updatespec, deploy, api keys): fields under `data`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from agents.protocol_codes import CloseCode as CloseCode  # the close codes, beside the models
from agents.spec.schema import Architecture


class Scope(StrEnum):
    UCT = "uct"
    CONTROL_HUB = "ch"


class StrictRequest(BaseModel):
    """Requests reject unknown fields and wrong types (no coercion)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Event(BaseModel):
    """Base of every server → client event."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str


Id = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=100_000)]


# ---------------------------------------------------------------------------------------------
# Control messages (client → server, any endpoint)


class ResumeTarget(StrictRequest):
    job_id: Id
    since: Annotated[int, Field(ge=0)] = 0


class ResumeMessage(StrictRequest):
    """*extension*: first message that re-attaches to a running or finished job."""

    resume: ResumeTarget


class CancelMessage(StrictRequest):
    """*extension*: cancels the job this socket is attached to (idempotent)."""

    type: Literal["cancel"]


# ---------------------------------------------------------------------------------------------
# /research


class ResearchRequest(StrictRequest):
    prompt: Annotated[str, StringConstraints(max_length=4000)]
    company_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    company_url: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    user_id: Id
    session_id: Id
    documents: list[Annotated[str, StringConstraints(min_length=1, max_length=300)]] | None = None
    depth: Literal["quick", "standard", "deep"] = "standard"
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] = "en"


class StatusEvent(Event):
    type: Literal["status"] = "status"
    message: str
    session_id: str


class MultiagentStep(Event):
    type: Literal["multiagent_step"] = "multiagent_step"
    step: str
    message: str
    session_id: str


class MultiagentProgress(Event):
    type: Literal["multiagent_progress"] = "multiagent_progress"
    step: str
    session_id: str
    message: str | None = None  # extension
    progress_percent: int | None = None  # extension


class ResearchChunkData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    chunk: str
    chunk_index: int
    step: str | None = None  # extension: which report is being written


class ResearchStreamChunk(Event):
    """*extension* of /research: the report text as the writer produces it."""

    type: Literal["stream_chunk"] = "stream_chunk"
    data: ResearchChunkData
    session_id: str


FileType = Literal[
    "markdown",
    "pdf",
    "deep_research_markdown",
    "deep_research_pdf",
    "AI_discovery_markdown",
    "AI_discovery_pdf",
    "use_cases_pdf",
    "use_cases_md",
]


class S3UploadComplete(Event):
    type: Literal["s3_upload_complete"] = "s3_upload_complete"
    file_type: FileType
    s3_url: str
    session_id: str


class UseCase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    title: str
    description: str
    business_value: str
    impact_score: Literal["High", "Medium", "Low"]
    implementation: str
    estimated_roi: str
    alignment_score: Literal["High", "Medium", "Low"]


class UseCasesComplete(Event):
    type: Literal["use_cases_complete"] = "use_cases_complete"
    use_cases: list[UseCase]
    total_use_cases: int
    session_id: str


class TokenUsage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float | None = None


class ResearchComplete(Event):
    type: Literal["complete"] = "complete"
    project_id: str
    user_id: str
    s3_deep_research_report_url: str
    s3_deep_research_pdf_url: str
    s3_AI_discovery_report_url: str
    s3_AI_discovery_pdf_url: str
    s3_use_cases_pdf_url: str
    s3_use_cases_md_url: str
    all_s3_urls: dict[str, str]
    session_id: str
    usage: dict[str, TokenUsage] | None = None  # extension: per step and "total"
    citations_removed: int | None = None  # extension: citations to ungathered sources dropped
    sources_count: int | None = None  # extension: sources gathered for the report


class FlatKeepalive(Event):
    type: Literal["keepalive"] = "keepalive"
    timestamp: int
    message: str = "Processing..."


class FlatError(Event):
    type: Literal["error"] = "error"
    error: str
    message: str
    session_id: str | None = None
    step: str | None = None  # extension (research): the pipeline step that failed


# ---------------------------------------------------------------------------------------------
# /chat


class ChatMessage(StrictRequest):
    role: Literal["user", "assistant"]
    content: Annotated[str, StringConstraints(min_length=1, max_length=100_000)]


class ChatRequest(StrictRequest):
    messages: Annotated[list[ChatMessage], Field(min_length=1, max_length=500)]
    user_id: Id
    session_id: Id
    s3_report_url: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = None
    report: Annotated[str, StringConstraints(min_length=1, max_length=5_000_000)] | None = None
    project_id: Id | None = None
    company_name: Annotated[str, StringConstraints(max_length=200)] | None = None
    token_limit: Annotated[int, Field(gt=0, le=100_000_000)] = 250_000

    @model_validator(mode="after")
    def _one_report_source(self) -> ChatRequest:
        if (self.s3_report_url is None) == (self.report is None):
            raise ValueError("provide exactly one of s3_report_url or report")
        if self.messages[-1].role != "user":
            raise ValueError("messages: the last message must have role 'user'")
        return self


class ChatStatus(Event):
    type: Literal["chat_status"] = "chat_status"
    message: str
    session_id: str


class ChatChunk(Event):
    type: Literal["chat_chunk"] = "chat_chunk"
    chunk: str
    is_final: bool
    session_id: str


class ReportGenerated(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    success: bool
    url: str | None = None  # extension


class ToolsUsed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    web_search: list[str] = Field(default_factory=list)
    report_generated: ReportGenerated = Field(
        default_factory=lambda: ReportGenerated(success=False)
    )


class ChatMetadata(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    tools_used: ToolsUsed
    citations: list[str] | None = None  # extension: report sections / sources cited


class ChatTurnUsage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    input_tokens: int
    output_tokens: int
    total_tokens: int


class ChatResponse(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    metadata: ChatMetadata
    token_usage: ChatTurnUsage


class SessionTokenUsage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    input_tokens: int
    output_tokens: int
    total_tokens: int
    limit: int
    limit_reached: bool


class SessionInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    user_id: str
    session_id: str
    message_count: int
    token_usage: SessionTokenUsage


class ChatComplete(Event):
    type: Literal["chat_complete"] = "chat_complete"
    success: bool
    response: ChatResponse
    session_info: SessionInfo


class ChatError(Event):
    type: Literal["chat_error"] = "chat_error"
    error: str
    message: str
    session_id: str | None = None


# ---------------------------------------------------------------------------------------------
# Enveloped events shared by /getspec, /updatespec, /deploy, /createapikey, /deleteapikey


class KeepaliveData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    message: str
    elapsed_seconds: int


class DataKeepalive(Event):
    type: Literal["keepalive"] = "keepalive"
    data: KeepaliveData


class ErrorData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    error: str
    message: str
    details: list[str] | None = None  # extension: e.g. validation errors, synth output


class DataError(Event):
    type: Literal["error"] = "error"
    data: ErrorData


# ---------------------------------------------------------------------------------------------
# /getspec and /updatespec


class GetSpecRequest(StrictRequest):
    user_id: Id
    project_id: Id
    use_case_name: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    use_case_description: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
    s3_uri: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = None
    session_id: Id | None = None


class UpdateSpecRequest(StrictRequest):
    user_id: Id
    project_id: Id
    user_input: Annotated[str, StringConstraints(min_length=1, max_length=20_000)] | None = None
    rollback_to: Annotated[int, Field(ge=1)] | None = None  # extension
    session_id: Id | None = None

    @model_validator(mode="after")
    def _one_action(self) -> UpdateSpecRequest:
        if (self.user_input is None) == (self.rollback_to is None):
            raise ValueError("provide exactly one of user_input or rollback_to")
        return self


class AckData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    user_id: str
    session_id: str
    project_id: str
    action: Literal["generate", "update", "rollback"]
    status: Literal["processing"] = "processing"


class Ack(Event):
    type: Literal["ack"] = "ack"
    data: AckData


class StreamStartData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    message: str
    model: str


class StreamStart(Event):
    type: Literal["stream_start"] = "stream_start"
    data: StreamStartData


class StreamChunkData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    chunk: str
    chunk_index: int


class StreamChunk(Event):
    type: Literal["stream_chunk"] = "stream_chunk"
    data: StreamChunkData


class SpecStatusData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    status: Literal["processing"] = "processing"
    message: str


class SpecStatus(Event):
    """*extension* of /getspec and /updatespec: progress notes (a model retry, a queue wait)."""

    type: Literal["status"] = "status"
    data: SpecStatusData


class StreamEndData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    total_chunks: int
    completion_time: float


class StreamEnd(Event):
    type: Literal["stream_end"] = "stream_end"
    data: StreamEndData


class SpecDiff(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)


class ArchitectureData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    user_id: str
    project_id: str
    architecture: Architecture
    status: Literal["pending", "deployed"]
    version: int | None = None  # extension
    diff: SpecDiff | None = None  # extension (updates)


class ArchitectureEvent(Event):
    type: Literal["architecture"] = "architecture"
    data: ArchitectureData


# ---------------------------------------------------------------------------------------------
# /deploy


class DeployRequest(StrictRequest):
    user_id: Id
    project_id: Id
    github_username: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,39}$")] | None = (
        None
    )
    action: Literal["deploy", "destroy"] = "deploy"  # extension


class DeploymentStartedData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    status: Literal["started"] = "started"
    message: str
    user_id: str
    project_id: str


class DeploymentStarted(Event):
    type: Literal["deployment_started"] = "deployment_started"
    data: DeploymentStartedData


class DeploymentCompleteData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    status: Literal["success", "deployed", "destroyed"]
    deployment_status: Literal["deploying_via_cicd", "deployed", "destroyed"]
    message: str
    github_repo: str
    user_id: str
    project_id: str
    agent_endpoint: str | None = None
    spec_version: int | None = None  # extension


class DeploymentComplete(Event):
    type: Literal["deployment_complete"] = "deployment_complete"
    data: DeploymentCompleteData


class DeployStatusData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    status: str
    message: str
    progress_percent: Annotated[int, Field(ge=0, le=100)]


class DeployStatus(Event):
    type: Literal["status"] = "status"
    data: DeployStatusData


class Complete(Event):
    type: Literal["complete"] = "complete"


# ---------------------------------------------------------------------------------------------
# /createapikey and /deleteapikey


class CreateApiKeyRequest(StrictRequest):
    user_id: Id
    project_id: Id
    key_name: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    rate_limit: Annotated[float, Field(gt=0, le=10000)] | None = None  # extension
    burst_limit: Annotated[int, Field(ge=1, le=5000)] | None = None  # extension
    quota_limit: Annotated[int, Field(ge=1)] | None = None  # extension
    quota_period: Literal["DAY", "WEEK", "MONTH"] | None = None  # extension


class DeleteApiKeyRequest(StrictRequest):
    user_id: Id
    project_id: Id
    api_key_id: Id
    usage_plan_id: Id | None = None


class ApiKeyCreatedData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    api_key_value: str
    api_key_id: str
    usage_plan_id: str
    api_endpoint: str


class ApiKeyCreated(Event):
    type: Literal["api_key_created"] = "api_key_created"
    data: ApiKeyCreatedData


class ApiKeyDeletedData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    api_key_id: str


class ApiKeyDeleted(Event):
    type: Literal["api_key_deleted"] = "api_key_deleted"
    data: ApiKeyDeletedData


# ---------------------------------------------------------------------------------------------
# Endpoint table: scope, request model, events, and the endpoint's own error/keepalive shapes


class ErrorShape(StrEnum):
    FLAT = "flat"  # {"type": "error", "error", "message", "session_id"}
    CHAT = "chat"  # {"type": "chat_error", ...}
    DATA = "data"  # {"type": "error", "data": {"error", "message"}}


@dataclass(frozen=True)
class EndpointProtocol:
    name: str
    scope: Scope
    request: type[StrictRequest]
    events: tuple[type[Event], ...]
    error_shape: ErrorShape
    summary: str

    def error_event(
        self,
        code: str,
        message: str,
        *,
        session_id: str | None = None,
        details: list[str] | None = None,
        step: str | None = None,
    ) -> Event:
        """The endpoint's own error event. Codes are UPPER_CASE on the flat endpoints (as the
        reference's INVALID_QUERY, TOKEN_LIMIT_EXCEEDED) and lower_case on enveloped ones (as
        generation_failed, no_architecture)."""
        code = code.lower() if self.error_shape is ErrorShape.DATA else code.upper()
        if self.error_shape is ErrorShape.DATA:
            return DataError(data=ErrorData(error=code, message=message, details=details))
        if self.error_shape is ErrorShape.CHAT:
            return ChatError(error=code, message=message, session_id=session_id)
        return FlatError(error=code, message=message, session_id=session_id, step=step)

    def keepalive_event(self, elapsed_seconds: float, *, now: float | None = None) -> Event:
        if self.error_shape is ErrorShape.DATA:
            secs = int(elapsed_seconds)
            return DataKeepalive(
                data=KeepaliveData(
                    message=f"Processing in progress... ({secs}s)", elapsed_seconds=secs
                )
            )
        return FlatKeepalive(timestamp=int(now if now is not None else time.time()))


_SPEC_EVENTS: tuple[type[Event], ...] = (
    Ack,
    StreamStart,
    StreamChunk,
    SpecStatus,
    StreamEnd,
    ArchitectureEvent,
    DataKeepalive,
    DataError,
)

ENDPOINTS: dict[str, EndpointProtocol] = {
    e.name: e
    for e in (
        EndpointProtocol(
            "research",
            Scope.UCT,
            ResearchRequest,
            (
                StatusEvent,
                MultiagentStep,
                MultiagentProgress,
                ResearchStreamChunk,
                S3UploadComplete,
                UseCasesComplete,
                ResearchComplete,
                FlatKeepalive,
                FlatError,
            ),
            ErrorShape.FLAT,
            "Multi-agent deep research with Markdown and PDF reports.",
        ),
        EndpointProtocol(
            "chat",
            Scope.UCT,
            ChatRequest,
            (ChatStatus, ChatChunk, ChatComplete, FlatKeepalive, ChatError),
            ErrorShape.CHAT,
            "Streamed, grounded Q&A over a stored report.",
        ),
        EndpointProtocol(
            "getspec",
            Scope.CONTROL_HUB,
            GetSpecRequest,
            _SPEC_EVENTS,
            ErrorShape.DATA,
            "Design a multi-agent architecture spec from a use case.",
        ),
        EndpointProtocol(
            "updatespec",
            Scope.CONTROL_HUB,
            UpdateSpecRequest,
            _SPEC_EVENTS,
            ErrorShape.DATA,
            "Change the current spec by instruction, or roll back.",
        ),
        EndpointProtocol(
            "deploy",
            Scope.CONTROL_HUB,
            DeployRequest,
            (
                DeploymentStarted,
                DeploymentComplete,
                DeployStatus,
                Complete,
                DataKeepalive,
                DataError,
            ),
            ErrorShape.DATA,
            "Render, check, push and deploy the spec; stream progress.",
        ),
        EndpointProtocol(
            "createapikey",
            Scope.CONTROL_HUB,
            CreateApiKeyRequest,
            (ApiKeyCreated, DataKeepalive, DataError),
            ErrorShape.DATA,
            "Create an API key and usage plan for a deployed app.",
        ),
        EndpointProtocol(
            "deleteapikey",
            Scope.CONTROL_HUB,
            DeleteApiKeyRequest,
            (ApiKeyDeleted, DataKeepalive, DataError),
            ErrorShape.DATA,
            "Revoke and delete a deployed app's API key.",
        ),
    )
}


def event_to_dict(event: Event) -> dict[str, Any]:
    """The JSON object sent on the wire (before the server adds job_id and seq)."""
    return event.model_dump(mode="json", exclude_none=True)
