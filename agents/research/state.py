"""One research job's state, and the helper every step uses to call a model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from agents.artifacts import StoredArtifact
from agents.llm.errors import LLMError, LLMRetriesExhaustedError
from agents.llm.port import LLM, CompletionRequest, CompletionResult, LLMEvent, Role, TextDelta
from agents.llm.stream import ModelStream, Notice, notice_for
from agents.pipeline import JobContext
from agents.protocol import Event, FileType, ResearchRequest, StatusEvent, UseCase
from agents.research.accounting import UsageLedger
from agents.research.citations import SourceRegistry
from agents.research.claims import Claim, claims_notes
from agents.research.config import DepthProfile
from agents.research.deps import ResearchDeps
from agents.sources.base import Source
from agents.sources.budget import ReadBudget


class StepFailed(Exception):
    """Ends the job with an error event naming `step`."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step
        self.message = message

    def __reduce__(self) -> tuple[type[StepFailed], tuple[str, str]]:
        return StepFailed, (self.step, self.message)  # a step's recorded failure is pickled


@dataclass
class QuestionResult:
    question: str
    claims: list[Claim] = field(default_factory=list)
    dropped: int = 0
    rounds: int = 0
    searches: int = 0
    # every source the question numbered, with its number (a recovered job numbers them again)
    sources: list[tuple[int, Source]] = field(default_factory=list)

    @property
    def notes(self) -> str:
        return claims_notes(self.claims)


@dataclass
class JobState:
    deps: ResearchDeps
    request: ResearchRequest
    ctx: JobContext
    profile: DepthProfile
    topic: str
    company: str
    company_url: str
    urls: tuple[str, ...]
    project_id: str = ""
    ledger: UsageLedger = field(default_factory=UsageLedger)
    registry: SourceRegistry = field(default_factory=SourceRegistry)
    chunk_index: int = 0
    citations_removed: int = 0
    questions: list[str] = field(default_factory=list)
    job_sources: list[Source] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    company_profile: str = ""
    budget: ReadBudget = field(default_factory=ReadBudget)
    notes_done: list[int] = field(default_factory=list)
    results: list[QuestionResult] = field(default_factory=list)  # one per answered question
    claims: list[Claim] = field(default_factory=list)
    claims_dropped: int = 0
    dropped_reasons: list[str] = field(default_factory=list)
    kept_sentences: set[str] = field(default_factory=set)  # not offered to researchers again
    claims_turn: asyncio.Lock = field(default_factory=asyncio.Lock)  # see serial_claims
    use_case_scoring: dict[str, str] = field(default_factory=dict)  # use case id → rubric line
    cited_by_report: dict[str, set[int]] = field(default_factory=dict)  # step → numbers cited
    providers_used: list[str] = field(default_factory=list)
    report_md: str = ""
    discovery_md: str = ""
    use_cases: list[UseCase] = field(default_factory=list)
    uploads: dict[FileType, StoredArtifact] = field(default_factory=dict)
    sidecar: StoredArtifact | None = None  # citations.json, once stored
    pdf_tasks: dict[FileType, asyncio.Future[bytes]] = field(default_factory=dict)

    @property
    def claimed_sources(self) -> set[int]:
        """The numbers of the sources with a kept claim: the only ones a report may cite (the
        sidecar holds a quote for each)."""
        return {c.source for c in self.claims}

    @property
    def sid(self) -> str:
        return self.request.session_id

    def status(self, message: str) -> StatusEvent:
        return StatusEvent(message=message, session_id=self.sid)

    def llm(self, role: Role) -> LLM:
        return self.deps.llms.for_role(role)


def describe_error(exc: BaseException) -> str:
    """A short, safe description of why a step failed."""
    if isinstance(exc, StepFailed):
        return exc.message
    if isinstance(exc, LLMRetriesExhaustedError):
        return f"the model provider kept failing after {exc.attempts} attempts: {exc.last.message}"
    if isinstance(exc, LLMError):
        return f"model error ({type(exc).__name__}): {exc.message}"
    message = getattr(exc, "message", None)
    if isinstance(message, str) and message:
        return message
    if isinstance(exc, ExceptionGroup):
        return describe_error(exc.exceptions[0])
    return f"internal error ({type(exc).__name__})"


def llm_event_status(
    state: JobState, step: str, event: LLMEvent, *, seen_queue: bool
) -> Event | None:
    """The status event (if any) that reports a model-side event to the client."""
    notice = notice_for(event, queue_seen=seen_queue)
    return state.status(f"{step}: {notice.message}") if notice is not None else None


class LLMCall:
    """Streams one request; yields status events and text deltas, keeps the final result."""

    def __init__(self, state: JobState, step: str, llm: LLM, request: CompletionRequest) -> None:
        self.state = state
        self.step = step
        self.llm = llm
        self.request = request
        self.result: CompletionResult | None = None

    async def events(self) -> AsyncIterator[Event | TextDelta]:
        stream = ModelStream(self.llm, self.request)
        async for item in stream:
            if isinstance(item, Notice):
                yield self.state.status(f"{self.step}: {item.message}")
            else:
                yield item
        self.result = await stream.final_result()
        self.state.ledger.add(self.step, self.result.usage, self.result.cost_usd)
