"""/getspec: design a multi-agent architecture from a use case (and optionally a report).

Events: ack -> stream_start -> stream_chunk* (the model's design rationale, as it is written,
about one chunk per `deps.stream_window` seconds) -> stream_end -> architecture.

After the rationale, the model returns the spec as structured output in the same conversation
(same system prompt, the rationale as its own turn: the local model reuses the evaluated prefix).
Under a grammar-constrained provider that output is schema-valid by construction (see
llm_format.design_schema); what remains are semantic problems. Duplicate agent ids go back to the
model as a repair of the whole design; references to agents that do not exist go back as a
repair of only the orchestration and gateway targets, under a grammar whose agent ids are an enum
of the agents the design defines. At most `deps.max_repairs` repairs in all; still invalid ->
error `generation_failed` with the errors in `details`. The valid spec is stored as a new version
of (workspace, project).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from agents.errors import PipelineFailed
from agents.llm.errors import LLMError
from agents.llm.port import LLM, CompletionRequest, Message, Role
from agents.llm.stream import ModelStream, Notice
from agents.pipeline import JobContext, Pipeline
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
)
from agents.spec import prompts
from agents.spec.deps import SpecDeps
from agents.spec.llm_format import (
    design_schema,
    design_to_spec_dict,
    normalise_orchestration,
    references_schema,
    unique_paths,
)
from agents.spec.llm_steps import Attempted, SpecGenerationFailed, structured_with_repair
from agents.spec.schema import Architecture
from agents.spec.validation import canonical_json, validate_spec

GENERATION_FAILED = "generation_failed"


def generation_failed(message: str, details: list[str] | None = None) -> PipelineFailed:
    return PipelineFailed(message, step="design", code=GENERATION_FAILED, details=details)


def truncate_report(report: str, budget: int) -> str:
    if len(report) <= budget:
        return report
    return report[:budget].rstrip() + "\n[... report truncated ...]"


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


def reference_errors(spec: dict[str, Any]) -> list[str]:
    """References in a converted design to agents it does not define."""
    ids = set(spec.get("agents_config", {}))
    errors: list[str] = []
    orch = spec.get("orchestration") or {}
    if orch.get("entry_agent") not in ids:
        errors.append(f"orchestration.entry_agent {orch.get('entry_agent')!r} is not an agent")
    errors += [
        f"orchestration.order names unknown agent {a!r}"
        for a in orch.get("order", [])
        if a not in ids
    ]
    errors += [
        f"gateway target {t.get('path')} names unknown agent {t.get('agent')!r}"
        for t in spec.get("gateway_config", {}).get("targets", [])
        if t.get("agent") not in ids
    ]
    return errors


def getspec_pipeline(deps: SpecDeps) -> Pipeline:
    models = deps.allowed_models

    def convert(design: dict[str, Any]) -> Architecture | BadReferences:
        spec = design_to_spec_dict(design, gateway_provider=deps.gateway_provider)
        if spec.get("agents_config") and (errors := reference_errors(spec)):
            # Anything else wrong (possible only without a grammar) needs the whole design again.
            gateway = {**spec["gateway_config"], "targets": []}
            validate_spec({**spec, "orchestration": None, "gateway_config": gateway})
            return BadReferences(spec, errors, design)
        return validate_spec(spec)

    async def run(request: GetSpecRequest, ctx: JobContext) -> AsyncIterator[Event]:
        yield Ack(
            data=AckData(
                user_id=request.user_id,
                session_id=request.session_id or ctx.job_id,
                project_id=request.project_id,
                action="generate",
            )
        )
        report: str | None = None
        if request.s3_uri:
            report = truncate_report(
                await deps.load_report(request.s3_uri, ctx.workspace_id), deps.report_char_budget
            )
        llm = deps.llms.for_role(Role.ARCHITECT)
        started = deps.clock()
        yield StreamStart(
            data=StreamStartData(
                message="Generating architecture specification...", model=llm.model
            )
        )
        use_case = prompts.use_case_message(
            request.use_case_name, request.use_case_description, report
        )
        parts: list[str] = []
        chunks = 0
        system = prompts.architect_system(models, deps.default_model)
        first = Message("user", prompts.rationale_request(use_case))
        try:
            draft = CompletionRequest(
                system=system, messages=(first,), max_tokens=deps.rationale_max_tokens
            )
            async for chunk in stream_rationale(llm, draft, parts, deps):
                chunks += isinstance(chunk, StreamChunk)
                yield chunk
            rationale = "".join(parts).strip() or "(none)"
            final = CompletionRequest(
                system=system,
                messages=(
                    first,
                    Message("assistant", rationale),
                    Message("user", prompts.DESIGN_REQUEST),
                ),
                max_tokens=deps.spec_max_tokens,
                json_schema=design_schema(models),
                schema_name="architecture",
                temperature=0.0,
            )
            result = await structured_with_repair(llm, final, convert, max_repairs=deps.max_repairs)
            if isinstance(result.value, BadReferences):
                repairs_left = deps.max_repairs - (result.attempts - 1)
                spec = await fix_references(llm, final, result, repairs_left)
            else:
                spec = result.value
        except SpecGenerationFailed as exc:
            raise generation_failed(exc.message, exc.errors or None) from exc
        except LLMError as exc:
            raise generation_failed(f"The architect model failed: {exc.message}") from exc
        yield StreamEnd(
            data=StreamEndData(
                total_chunks=chunks, completion_time=round(deps.clock() - started, 3)
            )
        )
        stored = await deps.store.append(
            ctx.workspace_id,
            request.project_id,
            user_id=request.user_id,
            action="generate",
            instruction=request.use_case_name,
            spec_json=canonical_json(spec),
        )
        yield ArchitectureEvent(
            data=ArchitectureData(
                user_id=request.user_id,
                project_id=request.project_id,
                architecture=spec,
                status=stored.status,
                version=stored.version,
            )
        )

    return run


@dataclass(frozen=True)
class BadReferences:
    """A converted design whose orchestration or targets name agents it does not define."""

    spec: dict[str, Any]
    errors: list[str]
    design: dict[str, Any]


async def fix_references(
    llm: LLM, request: CompletionRequest, answer: Attempted[Any], repairs_left: int
) -> Architecture:
    """Ask again for only the orchestration and targets, with the defined ids as an enum.

    The model's answer goes back verbatim, so the local model reuses the whole conversation.
    """
    bad: BadReferences = answer.value
    spec, errors = bad.spec, bad.errors
    ids = list(spec["agents_config"])
    if repairs_left <= 0:
        raise SpecGenerationFailed(
            "The model's spec names agents it does not define.", errors, attempts=1
        )
    fix = replace(
        request,
        messages=(
            *request.messages,
            Message("assistant", answer.text or json.dumps(bad.design, ensure_ascii=False)),
            Message("user", prompts.references_request(errors, ids)),
        ),
        json_schema=references_schema(ids),
        schema_name="references",
        max_tokens=600,
    )

    def apply(reply: dict[str, Any]) -> Architecture:
        fixed = {
            **spec,
            "orchestration": normalise_orchestration(dict(reply.get("orchestration") or {})),
        }
        targets = reply.get("gateway_targets") or [
            {"path": "/invoke", "agent": fixed["orchestration"].get("entry_agent")}
        ]
        fixed["gateway_config"] = {**spec["gateway_config"], "targets": unique_paths(targets)}
        return validate_spec(fixed)

    result = await structured_with_repair(llm, fix, apply, max_repairs=repairs_left - 1)
    return result.value
