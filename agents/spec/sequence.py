"""The one sequence /getspec and /updatespec share, as durable steps.

begin (the pipeline's own: ack, what the design starts from) → design (stream_start, the
model's rationale or plan as stream_chunks) → validate (structured output in the same
conversation, converted and validated, repaired at most `deps.max_repairs` times) → store
(stream_end, the new version, the architecture event).

Each step's output is plain data (`Begun`, `Designed`, `Validated`), so a job recovered after a
failover goes on from the interrupted step. The store step is idempotent: a version this job
stored before the failover (the next version after the one the job began from, with the same
bytes, action and instruction) is returned instead of storing it again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from agents.errors import PipelineFailed
from agents.llm.errors import LLMError
from agents.llm.port import LLM, CompletionRequest, Message, Role
from agents.llm.stream import ModelStream, Notice
from agents.pipeline import Checkpoint, JobContext, StepOutput, stage
from agents.protocol import (
    ArchitectureEvent,
    Event,
    SpecStatus,
    SpecStatusData,
    StreamChunk,
    StreamChunkData,
    StreamEnd,
    StreamEndData,
    StreamStart,
    StreamStartData,
)
from agents.spec.deps import SpecDeps
from agents.spec.llm_steps import SpecGenerationFailed
from agents.spec.schema import Architecture
from agents.spec.store import SpecAction, SpecStore, SpecVersion
from agents.spec.validation import canonical_json

BEGIN, DESIGN, VALIDATE, STORE = "begin", "design", "validate", "store"
GENERATION_FAILED = "generation_failed"


def generation_failed(message: str, details: list[str] | None = None) -> PipelineFailed:
    return PipelineFailed(message, step="design", code=GENERATION_FAILED, details=details)


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
            yield SpecStatus(data=SpecStatusData(message=item.sentence))
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
    spec_json: str | None  # None: the model gave no valid spec (the step sent the error)
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
    # the structured request -> the valid spec (raises SpecGenerationFailed, LLMError)
    finish: Callable[[LLM, CompletionRequest], Awaitable[Architecture]]
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
    draft: Designed | None = designed.value
    if draft is None:
        return

    validated = Checkpoint()
    body = _validate(deps, llm, run, first, draft)
    async for event in stage(ctx.step, VALIDATE, body, validated):
        yield event
    valid: Validated = validated.value
    if valid.spec_json is None:
        return

    async def store() -> AsyncIterator[Event]:
        yield StreamEnd(
            data=StreamEndData(
                total_chunks=draft.chunks, completion_time=round(draft.seconds + valid.seconds, 3)
            )
        )
        assert valid.spec_json is not None
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
        spec = await run.finish(llm, final)
    except SpecGenerationFailed as exc:
        raise generation_failed(exc.message, exc.errors or None) from exc
    except LLMError as exc:
        raise generation_failed(f"The architect model failed: {exc.message}") from exc
    yield StepOutput(Validated(canonical_json(spec), deps.clock() - started))


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
