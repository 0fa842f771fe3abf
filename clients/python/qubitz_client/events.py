"""Events: one typed class per (endpoint, event type), joined per endpoint in a discriminated union.

`parse_event(obj, endpoint)` gives the typed class (`ResearchComplete`, `DeployStatus`, ...). The
classes mirror the server's AsyncAPI document (`/asyncapi.json`); tests/clients/test_typed_events.py
checks every message of that document against them, so they cannot drift. They are tolerant
readers: fields the server adds later are kept (`extra="allow"`), and an event of a type this
version does not know, or one that does not match its class, is still delivered as a plain `Event`.

Every class keeps the helpers of the plain `Event`: `raw`, `payload`, `get()`, `text`,
`message`, `error_code`, `progress_percent`, `is_error`, `is_keepalive`. `message` and
`progress_percent` are those helpers on every class (flat events carry them at the top level,
ControlHub events inside `data`), so the classes declare no fields of those names.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

# Event types that end a job successfully, per endpoint.
TERMINAL_SUCCESS = {
    "research": {"complete"},
    "chat": {"chat_complete"},
    "getspec": {"architecture"},
    "updatespec": {"architecture"},
    "deploy": {"complete"},
    "createapikey": {"api_key_created"},
    "deleteapikey": {"api_key_deleted"},
}
ERROR_TYPES = {"error", "chat_error"}


class Model(BaseModel):
    """Nested payloads: tolerant of fields added by newer servers."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Event(Model):
    """Any event. `raw` is the JSON object as received."""

    type: str
    job_id: str | None = None
    seq: int | None = None

    @property
    def raw(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)

    @property
    def payload(self) -> dict[str, Any]:
        """The `data` object of the ControlHub events, as a dict ({} for the flat ones)."""
        value = self.raw.get("data")
        return value if isinstance(value, dict) else {}

    @property
    def is_error(self) -> bool:
        return self.type in ERROR_TYPES

    @property
    def is_keepalive(self) -> bool:
        return self.type == "keepalive"

    @property
    def text(self) -> str:
        """Streamed text carried by chunk events ('' for others)."""
        if self.type == "chat_chunk":
            return str(self.raw.get("chunk", ""))
        if self.type == "stream_chunk":
            return str(self.payload.get("chunk", ""))
        return ""

    @property
    def error_code(self) -> str:
        return str(self.raw.get("error") or self.payload.get("error") or "")

    @property
    def message(self) -> str:
        return str(self.raw.get("message") or self.payload.get("message") or "")

    @property
    def progress_percent(self) -> int | None:
        value = self.payload.get("progress_percent", self.raw.get("progress_percent"))
        return int(value) if isinstance(value, int) else None

    def get(self, name: str, default: Any = None) -> Any:
        return self.raw.get(name, default)


# Payloads shared by several events


class UseCase(Model):
    id: str
    title: str
    description: str
    business_value: str
    impact_score: str
    implementation: str
    estimated_roi: str
    alignment_score: str


class TokenUsage(Model):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float | None = None


class ResearchChunkData(Model):
    chunk: str
    chunk_index: int
    step: str | None = None


class ChatTurnUsage(Model):
    input_tokens: int
    output_tokens: int
    total_tokens: int


class ReportGenerated(Model):
    success: bool
    url: str | None = None


class ToolsUsed(Model):
    web_search: list[str] = []
    report_generated: ReportGenerated | None = None


class ChatMetadata(Model):
    tools_used: ToolsUsed
    citations: list[str] | None = None


class ChatResponse(Model):
    metadata: ChatMetadata
    token_usage: ChatTurnUsage


class SessionTokenUsage(Model):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    limit: int
    limit_reached: bool


class SessionInfo(Model):
    user_id: str
    session_id: str
    message_count: int
    token_usage: SessionTokenUsage


class AckData(Model):
    user_id: str
    session_id: str
    project_id: str
    action: str
    status: str = "processing"


class StreamStartData(Model):
    message: str
    model: str


class StreamChunkData(Model):
    chunk: str
    chunk_index: int


class SpecStatusData(Model):
    status: str = "processing"
    message: str


class StreamEndData(Model):
    total_chunks: int
    completion_time: float


class ArchitectureData(Model):
    user_id: str
    project_id: str
    architecture: dict[str, Any]  # agents_config, orchestration, gateway_config (see docs/spec.md)
    status: str
    version: int | None = None
    diff: dict[str, Any] | None = None


class KeepaliveData(Model):
    message: str
    elapsed_seconds: int


class ErrorData(Model):
    error: str
    message: str
    details: list[str] | None = None


class DeploymentStartedData(Model):
    status: str = "started"
    message: str
    user_id: str
    project_id: str


class DeploymentCompleteData(Model):
    status: str
    deployment_status: str
    message: str
    github_repo: str
    user_id: str
    project_id: str
    agent_endpoint: str | None = None
    spec_version: int | None = None


class DeployStatusData(Model):
    status: str
    message: str
    progress_percent: int


class ApiKeyCreatedData(Model):
    api_key_value: str
    api_key_id: str
    usage_plan_id: str
    api_endpoint: str


class ApiKeyDeletedData(Model):
    api_key_id: str


# Events whose shape is the same on several endpoints


class FlatKeepalive(Event):
    type: Literal["keepalive"] = "keepalive"
    timestamp: int


class DataKeepalive(Event):
    type: Literal["keepalive"] = "keepalive"
    data: KeepaliveData


class DataError(Event):
    type: Literal["error"] = "error"
    data: ErrorData


# /research


class ResearchStatus(Event):
    type: Literal["status"] = "status"
    session_id: str


class MultiagentStep(Event):
    type: Literal["multiagent_step"] = "multiagent_step"
    step: str
    session_id: str


class MultiagentProgress(Event):
    type: Literal["multiagent_progress"] = "multiagent_progress"
    step: str
    session_id: str


class ResearchStreamChunk(Event):
    type: Literal["stream_chunk"] = "stream_chunk"
    data: ResearchChunkData
    session_id: str


class S3UploadComplete(Event):
    type: Literal["s3_upload_complete"] = "s3_upload_complete"
    file_type: str
    s3_url: str
    session_id: str


class UseCasesComplete(Event):
    type: Literal["use_cases_complete"] = "use_cases_complete"
    use_cases: list[UseCase]
    total_use_cases: int
    session_id: str


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
    usage: dict[str, TokenUsage] | None = None  # per step (extension)
    citations_removed: int | None = None  # extension
    sources_count: int | None = None  # extension


class ResearchError(Event):
    type: Literal["error"] = "error"
    error: str
    session_id: str | None = None
    step: str | None = None


# /chat


class ChatStatus(Event):
    type: Literal["chat_status"] = "chat_status"
    session_id: str


class ChatChunk(Event):
    type: Literal["chat_chunk"] = "chat_chunk"
    chunk: str
    is_final: bool
    session_id: str


class ChatComplete(Event):
    type: Literal["chat_complete"] = "chat_complete"
    success: bool
    response: ChatResponse
    session_info: SessionInfo


class ChatError(Event):
    type: Literal["chat_error"] = "chat_error"
    error: str
    session_id: str | None = None


# /getspec and /updatespec


class Ack(Event):
    type: Literal["ack"] = "ack"
    data: AckData


class StreamStart(Event):
    type: Literal["stream_start"] = "stream_start"
    data: StreamStartData


class StreamChunk(Event):
    type: Literal["stream_chunk"] = "stream_chunk"
    data: StreamChunkData


class SpecStatus(Event):
    """A progress note of /getspec or /updatespec (a model retry, a queue wait, a resume)."""

    type: Literal["status"] = "status"
    data: SpecStatusData


class StreamEnd(Event):
    type: Literal["stream_end"] = "stream_end"
    data: StreamEndData


class ArchitectureEvent(Event):
    type: Literal["architecture"] = "architecture"
    data: ArchitectureData


# /deploy


class DeploymentStarted(Event):
    type: Literal["deployment_started"] = "deployment_started"
    data: DeploymentStartedData


class DeploymentComplete(Event):
    type: Literal["deployment_complete"] = "deployment_complete"
    data: DeploymentCompleteData


class DeployStatus(Event):
    type: Literal["status"] = "status"
    data: DeployStatusData


class Complete(Event):
    type: Literal["complete"] = "complete"


# /createapikey and /deleteapikey


class ApiKeyCreated(Event):
    type: Literal["api_key_created"] = "api_key_created"
    data: ApiKeyCreatedData


class ApiKeyDeleted(Event):
    type: Literal["api_key_deleted"] = "api_key_deleted"
    data: ApiKeyDeletedData


# One discriminated union per endpoint (for type checkers and for parsing).
ResearchEvent = Annotated[
    ResearchStatus
    | MultiagentStep
    | MultiagentProgress
    | ResearchStreamChunk
    | S3UploadComplete
    | UseCasesComplete
    | ResearchComplete
    | FlatKeepalive
    | ResearchError,
    Field(discriminator="type"),
]
ChatEvent = Annotated[
    ChatStatus | ChatChunk | ChatComplete | FlatKeepalive | ChatError, Field(discriminator="type")
]
SpecEvent = Annotated[
    Ack
    | StreamStart
    | StreamChunk
    | SpecStatus
    | StreamEnd
    | ArchitectureEvent
    | DataKeepalive
    | DataError,
    Field(discriminator="type"),
]
DeployEvent = Annotated[
    DeploymentStarted | DeploymentComplete | DeployStatus | Complete | DataKeepalive | DataError,
    Field(discriminator="type"),
]
CreateApiKeyEvent = Annotated[
    ApiKeyCreated | DataKeepalive | DataError, Field(discriminator="type")
]
DeleteApiKeyEvent = Annotated[
    ApiKeyDeleted | DataKeepalive | DataError, Field(discriminator="type")
]

UNIONS: dict[str, Any] = {
    "research": ResearchEvent,
    "chat": ChatEvent,
    "getspec": SpecEvent,
    "updatespec": SpecEvent,
    "deploy": DeployEvent,
    "createapikey": CreateApiKeyEvent,
    "deleteapikey": DeleteApiKeyEvent,
}
# The event classes of each endpoint, as the AsyncAPI document lists them.
EVENTS: dict[str, tuple[type[Event], ...]] = {
    endpoint: get_args(get_args(union)[0]) for endpoint, union in UNIONS.items()
}
_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    endpoint: TypeAdapter(union) for endpoint, union in UNIONS.items()
}


def parse_event(obj: dict[str, Any], endpoint: str | None = None) -> Event:
    """The typed event for `endpoint`, or a plain `Event` for a type or shape it does not know."""
    adapter = _ADAPTERS.get(endpoint or "")
    if adapter is not None and isinstance(obj, dict):
        try:
            event = adapter.validate_python(obj)
            if isinstance(event, Event):
                return event
        except PydanticValidationError:
            pass
    return Event.model_validate(obj)
