"""The one sequence /getspec and /updatespec share, as durable steps.

begin (the pipeline's own: ack, what the design starts from) → design (stream_start, the
model's rationale or plan as stream_chunks) → validate (structured output in the same
conversation, converted and validated, repaired at most `deps.max_repairs` times) → store
(stream_end, the new version, the architecture event). Both model steps read every call
through `ModelStream`: a retry or a wait in the local model's queue is a `status` event.

Each step's output is plain data (`Begun`, `Designed`, `Validated`), so a job recovered after a
failover goes on from the interrupted step. The store step is idempotent: a version this job
stored before the failover (the next version after the one the job began from, with the same
bytes, action and instruction) is returned instead of storing it again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from agents.errors import PipelineFailed
from agents.llm.errors import LLMError
from agents.llm.port import LLM, CompletionRequest, Message, Role
from agents.llm.stream import ModelStream, Notice
from agents.pipeline import Checkpoint, JobContext, StepOutput, stage
from agents.protocol import (
    Ack,
    AckData,
    ArchitectureData,
    ArchitectureEvent,
    Event,
    GetSpecRequest,
    SpecStatus,
    SpecStatusData,
    StreamChunk,
    StreamChunkData,
    StreamEnd,
    StreamEndData,
    StreamStart,
    StreamStartData,
    UpdateSpecRequest,
)
from agents.spec.deps import SpecDeps
from agents.spec.diff import spec_diff
from agents.spec.llm_steps import SpecGenerationFailed
from agents.spec.schema import Architecture
from agents.spec.store import SpecAction, SpecStore, SpecVersion
from agents.spec.validation import canonical_json

BEGIN, DESIGN, VALIDATE, STORE = "begin", "design", "validate", "store"
GENERATION_FAILED = "generation_failed"


def generation_failed(message: str, details: list[str] | None = None) -> PipelineFailed:
    return PipelineFailed(message, step="design", code=GENERATION_FAILED, details=details)


SpecRequest = GetSpecRequest | UpdateSpecRequest


def ack(request: SpecRequest, ctx: JobContext, action: SpecAction) -> Ack:
    """The first event of every spec job."""
    return Ack(
        data=AckData(
            user_id=request.user_id,
            session_id=request.session_id or ctx.job_id,
            project_id=request.project_id,
            action=action,
        )
    )


def architecture_event(
    request: SpecRequest, stored: SpecVersion, *, previous: dict[str, Any] | None = None
) -> ArchitectureEvent:
    """The last event of a spec job: the stored version (with its diff from `previous`)."""
    return ArchitectureEvent(
        data=ArchitectureData(
            user_id=request.user_id,
            project_id=request.project_id,
            architecture=stored.architecture(),
            status=stored.status,
            version=stored.version,
            diff=spec_diff(previous, stored.spec_dict()) if previous is not None else None,
        )
    )


def spec_status(notice: Notice) -> SpecStatus:
    """A model-side notice (retry, queue wait) as the spec endpoints' `status` event."""
    return SpecStatus(data=SpecStatusData(message=notice.sentence))


async def stream_rationale(
    llm: LLM, request: CompletionRequest, parts: list[str], deps: SpecDeps
) -> AsyncIterator[StreamChunk | SpecStatus]:
    """Stream the model's prose as stream_chunk events; the text is collected into `parts`.
    Model retries and queue waits arrive as `status` events in between.

    Tokens arrive one at a time (70-200 ms apart from the embedded model), so a chunk holds what
    arrived within `deps.stream_window` seconds of its first token, or `stream_chunk_chars`.
    """
    pending: list[str] = []
    opened = 0.0
    index = 0

    def take() -> StreamChunk:
        nonlocal index
        text = "".join(pending)
        pending.clear()
        index += 1
        return StreamChunk(data=StreamChunkData(chunk=text, chunk_index=index - 1))

    async for item in ModelStream(llm, request):
        if isinstance(item, Notice):
            yield spec_status(item)
        else:
            parts.append(item.text)
            now = deps.clock()
            if not pending:
                opened = now
            pending.append(item.text)
            size = sum(len(t) for t in pending)
            if now - opened >= deps.stream_window or size >= deps.stream_chunk_chars:
                yield take()
    if pending:
        yield take()


@dataclass(frozen=True)
class Begun:
    """What the job starts from: the first message of the design conversation, and the
    project's latest version when the job began (0: none)."""

    prompt: str
    latest: int
    previous: str | None = None  # /updatespec: the current spec's canonical JSON


@dataclass(frozen=True)
class Designed:
    rationale: str
    chunks: int
    seconds: float


@dataclass(frozen=True)
class Validated:
    spec_json: str  # the valid spec's canonical JSON (an invalid one ends the step raising)
    seconds: float


@dataclass(frozen=True)
class SpecRun:
    """What differs between /getspec and /updatespec within the shared sequence."""

    action: SpecAction
    instruction: str | None
    start_message: str
    system: str
    draft_tokens: int
    empty_draft: str  # the assistant turn when the model wrote no rationale
    # (first message, rationale turn) -> the structured request of the validate step
    structured: Callable[[Message, Message], CompletionRequest]
    # the structured request -> the calls' notices, then the valid spec (raises
    # SpecGenerationFailed, LLMError)
    finish: Callable[[LLM, CompletionRequest], AsyncIterator[Notice | Architecture]]
    announce: Callable[[SpecVersion], ArchitectureEvent]
    expect_latest: bool = False  # store only on top of `Begun.latest` (else Conflict)


async def design_and_store(
    deps: SpecDeps,
    ctx: JobContext,
    run: SpecRun,
    begun: Begun,
    *,
    user_id: str,
    project_id: str,
) -> AsyncIterator[Event]:
    llm = deps.llms.for_role(Role.ARCHITECT)
    first = Message("user", begun.prompt)

    designed = Checkpoint()
    async for event in stage(ctx.step, DESIGN, _design(deps, llm, run, first), designed):
        yield event
    draft = designed.output(Designed)

    validated = Checkpoint()
    body = _validate(deps, llm, run, first, draft)
    async for event in stage(ctx.step, VALIDATE, body, validated):
        yield event
    valid = validated.output(Validated)

    async def store() -> AsyncIterator[Event]:
        yield StreamEnd(
            data=StreamEndData(
                total_chunks=draft.chunks, completion_time=round(draft.seconds + valid.seconds, 3)
            )
        )
        stored = await store_once(
            deps.store,
            ctx.workspace_id,
            project_id,
            after=begun.latest,
            user_id=user_id,
            action=run.action,
            instruction=run.instruction,
            spec_json=valid.spec_json,
            expect_latest=run.expect_latest,
        )
        yield run.announce(stored)

    async for event in stage(ctx.step, STORE, store(), Checkpoint()):
        yield event


async def _design(
    deps: SpecDeps, llm: LLM, run: SpecRun, first: Message
) -> AsyncIterator[Event | StepOutput]:
    started = deps.clock()
    yield StreamStart(data=StreamStartData(message=run.start_message, model=llm.model))
    parts: list[str] = []
    chunks = 0
    draft = CompletionRequest(system=run.system, messages=(first,), max_tokens=run.draft_tokens)
    try:
        async for chunk in stream_rationale(llm, draft, parts, deps):
            chunks += isinstance(chunk, StreamChunk)
            yield chunk
    except LLMError as exc:
        raise generation_failed(f"The architect model failed: {exc.message}") from exc
    rationale = "".join(parts).strip() or run.empty_draft
    yield StepOutput(Designed(rationale, chunks, deps.clock() - started))


async def _validate(
    deps: SpecDeps, llm: LLM, run: SpecRun, first: Message, draft: Designed
) -> AsyncIterator[Event | StepOutput]:
    started = deps.clock()
    final = run.structured(first, Message("assistant", draft.rationale))
    try:
        async for item in run.finish(llm, final):
            if isinstance(item, Notice):
                yield spec_status(item)
            else:
                yield StepOutput(Validated(canonical_json(item), deps.clock() - started))
                return
    except SpecGenerationFailed as exc:
        raise generation_failed(exc.message, exc.errors or None) from exc
    except LLMError as exc:
        raise generation_failed(f"The architect model failed: {exc.message}") from exc
    raise generation_failed("The architect model gave no spec.")


async def store_once(
    store: SpecStore,
    workspace_id: str,
    project_id: str,
    *,
    after: int,
    user_id: str,
    action: SpecAction,
    instruction: str | None,
    spec_json: str,
    expect_latest: bool,
) -> SpecVersion:
    """Append the version after `after`, unless this job already did (see module docstring)."""
    mine = await store.get_version(workspace_id, project_id, after + 1)
    if (
        mine is not None
        and mine.spec_json == spec_json
        and (mine.action, mine.instruction, mine.user_id) == (action, instruction, user_id)
    ):
        return mine
    return await store.append(
        workspace_id,
        project_id,
        user_id=user_id,
        action=action,
        instruction=instruction,
        spec_json=spec_json,
        expected_latest=after if expect_latest else None,
    )
