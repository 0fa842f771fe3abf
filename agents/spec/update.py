"""/updatespec: change the current spec by a natural-language instruction, or roll back.

Update events: ack -> stream_start -> stream_chunk* (the model's plan) -> stream_end ->
architecture (full updated spec, new `version`, `diff`). The model answers, in the same
conversation as its plan, with typed edit operations (agents/spec/edits.py) under a schema built
for the current spec: existing agent ids are an enum, every field of a new or changed agent is
constrained. The operations are applied and the result validated; semantic errors (an
orchestration naming an agent that does not exist) go back for at most `deps.max_repairs`
repairs. Everything no operation names keeps its exact canonical bytes.

Rollback (`rollback_to: N`): ack -> architecture; stores a new version whose spec is exactly
version N's (action "rollback"). No model call.

No current spec in this workspace (including "it exists, but in another workspace") -> error
`no_architecture` with the reference's message.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from agents.errors import NotFound
from agents.llm.errors import LLMError
from agents.llm.port import CompletionRequest, Message, Role
from agents.pipeline import JobContext, Pipeline
from agents.protocol import (
    Ack,
    AckData,
    ArchitectureData,
    ArchitectureEvent,
    Event,
    StreamChunk,
    StreamEnd,
    StreamEndData,
    StreamStart,
    StreamStartData,
    UpdateSpecRequest,
)
from agents.spec import prompts
from agents.spec.deps import SpecDeps
from agents.spec.diff import spec_diff
from agents.spec.edits import apply_edits, edit_schema
from agents.spec.generate import generation_failed, stream_rationale
from agents.spec.llm_steps import SpecGenerationFailed, structured_with_repair
from agents.spec.schema import Architecture
from agents.spec.store import SpecVersion
from agents.spec.validation import canonical_json

NO_ARCHITECTURE_MESSAGE = "No architecture spec found. Generate one first with /getspec."


def no_architecture() -> NotFound:
    return NotFound(NO_ARCHITECTURE_MESSAGE, code="no_architecture")


def _event(
    request: UpdateSpecRequest, stored: SpecVersion, previous: dict[str, Any]
) -> ArchitectureEvent:
    return ArchitectureEvent(
        data=ArchitectureData(
            user_id=request.user_id,
            project_id=request.project_id,
            architecture=stored.architecture(),
            status=stored.status,
            version=stored.version,
            diff=spec_diff(previous, stored.spec_dict()),
        )
    )


def updatespec_pipeline(deps: SpecDeps) -> Pipeline:
    models = deps.allowed_models

    async def rollback(
        request: UpdateSpecRequest, ctx: JobContext, current: SpecVersion, target_version: int
    ) -> Event:
        target = await deps.store.get_version(ctx.workspace_id, request.project_id, target_version)
        if target is None:
            raise NotFound(
                f"Version {target_version} of project {request.project_id} does not "
                f"exist; its versions are 1 to {current.version}.",
                code="version_not_found",
            )
        stored = await deps.store.append(
            ctx.workspace_id,
            request.project_id,
            user_id=request.user_id,
            action="rollback",
            instruction=f"rollback to version {target_version}",
            spec_json=target.spec_json,
            expected_latest=current.version,
        )
        return _event(request, stored, current.spec_dict())

    async def run(request: UpdateSpecRequest, ctx: JobContext) -> AsyncIterator[Event]:
        yield Ack(
            data=AckData(
                user_id=request.user_id,
                session_id=request.session_id or ctx.job_id,
                project_id=request.project_id,
                action="rollback" if request.rollback_to is not None else "update",
            )
        )
        current = await deps.store.current(ctx.workspace_id, request.project_id)
        if current is None:
            raise no_architecture()
        if request.rollback_to is not None:
            yield await rollback(request, ctx, current, request.rollback_to)
            return
        instruction = request.user_input or ""
        previous = current.spec_dict()
        shown = json.dumps(previous, ensure_ascii=False)  # compact: fewer prompt tokens

        def convert(reply: dict[str, Any]) -> Architecture:
            return apply_edits(previous, reply)

        llm = deps.llms.for_role(Role.ARCHITECT)
        started = deps.clock()
        yield StreamStart(
            data=StreamStartData(message="Updating architecture specification...", model=llm.model)
        )
        parts: list[str] = []
        chunks = 0
        system = prompts.maintainer_system(models, deps.default_model)
        first = Message("user", prompts.update_plan_message(shown, instruction))
        try:
            plan = CompletionRequest(
                system=system, messages=(first,), max_tokens=deps.plan_max_tokens
            )
            async for chunk in stream_rationale(llm, plan, parts, deps):
                chunks += isinstance(chunk, StreamChunk)
                yield chunk
            change = CompletionRequest(
                system=system,
                messages=(
                    first,
                    Message("assistant", "".join(parts).strip() or "(no plan)"),
                    Message("user", prompts.EDIT_REQUEST),
                ),
                max_tokens=deps.edit_max_tokens,
                json_schema=edit_schema(list(previous["agents_config"]), models),
                schema_name="spec_edits",
                temperature=0.0,
            )
            result = await structured_with_repair(
                llm,
                change,
                convert,
                max_repairs=deps.max_repairs,
                repair=prompts.edit_repair_message,
            )
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
            action="update",
            instruction=instruction,
            spec_json=canonical_json(result.value),
            expected_latest=current.version,
        )
        yield _event(request, stored, previous)

    return run
