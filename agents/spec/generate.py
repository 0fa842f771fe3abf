"""/getspec: design a multi-agent architecture from a use case (and optionally a report).

Events: ack -> stream_start -> stream_chunk* (the model's design rationale, as it is written)
-> stream_end -> architecture. After the rationale, the model returns the spec as structured
output, which is validated against the schema; validation errors go back to the model for at
most `deps.max_repairs` repairs. Still invalid -> error `generation_failed` with the validation
errors in `details`. The valid spec is stored as a new version of (workspace, project).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from agents.llm.errors import LLMError
from agents.llm.port import LLM, CompletionRequest, Message, Role, TextDelta
from agents.pipeline import JobContext, Pipeline
from agents.protocol import (
    Ack,
    AckData,
    ArchitectureData,
    ArchitectureEvent,
    DataError,
    ErrorData,
    Event,
    GetSpecRequest,
    StreamChunk,
    StreamChunkData,
    StreamEnd,
    StreamEndData,
    StreamStart,
    StreamStartData,
)
from agents.spec import prompts
from agents.spec.deps import SpecDeps
from agents.spec.llm_format import design_schema, design_to_spec_dict
from agents.spec.llm_steps import SpecGenerationFailed, structured_with_repair
from agents.spec.schema import Architecture
from agents.spec.validation import canonical_json, validate_spec

GENERATION_FAILED = "generation_failed"


def generation_failed(message: str, details: list[str] | None = None) -> DataError:
    return DataError(data=ErrorData(error=GENERATION_FAILED, message=message, details=details))


def truncate_report(report: str, budget: int) -> str:
    if len(report) <= budget:
        return report
    return report[:budget].rstrip() + "\n[... report truncated ...]"


async def stream_rationale(
    llm: LLM, request: CompletionRequest, parts: list[str]
) -> AsyncIterator[StreamChunk]:
    """Stream the model's prose as stream_chunk events; the text is collected into `parts`."""
    async for event in llm.stream(request):
        if isinstance(event, TextDelta) and event.text:
            parts.append(event.text)
            yield StreamChunk(data=StreamChunkData(chunk=event.text, chunk_index=len(parts) - 1))


def getspec_pipeline(deps: SpecDeps) -> Pipeline:
    models = deps.allowed_models

    def convert(design: dict[str, Any]) -> Architecture:
        return validate_spec(design_to_spec_dict(design, gateway_provider=deps.gateway_provider))

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
        try:
            draft = CompletionRequest(
                system=prompts.rationale_system(models, deps.default_model),
                messages=(Message("user", use_case),),
                max_tokens=deps.rationale_max_tokens,
            )
            async for chunk in stream_rationale(llm, draft, parts):
                yield chunk
            final = CompletionRequest(
                system=prompts.spec_system(models, deps.default_model),
                messages=(
                    Message("user", prompts.design_request_message(use_case, "".join(parts))),
                ),
                max_tokens=deps.spec_max_tokens,
                json_schema=design_schema(models),
                schema_name="architecture",
                temperature=0.0,
            )
            result = await structured_with_repair(llm, final, convert, max_repairs=deps.max_repairs)
        except SpecGenerationFailed as exc:
            yield generation_failed(exc.message, exc.errors or None)
            return
        except LLMError as exc:
            yield generation_failed(f"The architect model failed: {exc.message}")
            return
        yield StreamEnd(
            data=StreamEndData(
                total_chunks=len(parts), completion_time=round(deps.clock() - started, 3)
            )
        )
        spec = result.value
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
