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

Steps: begin (ack, the current spec), then the sequence /getspec shares (design, validate,
store; agents/spec/sequence.py); a rollback is begin and store.

No current spec in this workspace (including "it exists, but in another workspace") -> error
`no_architecture` with the reference's message.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from agents.errors import NotFound
from agents.llm.port import LLM, CompletionRequest, Message
from agents.llm.stream import Notice
from agents.pipeline import Checkpoint, JobContext, Pipeline, StepOutput, stage
from agents.protocol import Event, UpdateSpecRequest
from agents.spec import prompts
from agents.spec.deps import SpecDeps
from agents.spec.edits import apply_edits, edit_schema
from agents.spec.llm_steps import structured_with_repair
from agents.spec.schema import Architecture
from agents.spec.sequence import (
    BEGIN,
    STORE,
    Begun,
    SpecRun,
    ack,
    architecture_event,
    design_and_store,
    store_once,
)

NO_ARCHITECTURE_MESSAGE = "No architecture spec found. Generate one first with /getspec."


def no_architecture() -> NotFound:
    return NotFound(NO_ARCHITECTURE_MESSAGE, code="no_architecture")


def updatespec_pipeline(deps: SpecDeps) -> Pipeline:
    models = deps.allowed_models

    async def begin(request: UpdateSpecRequest, ctx: JobContext) -> AsyncIterator[Any]:
        """Ack, then the current spec (raises NotFound when there is none)."""
        yield ack(request, ctx, "rollback" if request.rollback_to is not None else "update")
        current = await deps.store.current(ctx.workspace_id, request.project_id)
        if current is None:
            raise no_architecture()
        shown = json.dumps(current.spec_dict(), ensure_ascii=False)  # compact: fewer tokens
        prompt = prompts.update_plan_message(shown, request.user_input or "")
        yield StepOutput(Begun(prompt, current.version, current.spec_json))

    async def rollback(request: UpdateSpecRequest, ctx: JobContext, begun: Begun) -> Any:
        target_version = request.rollback_to
        assert target_version is not None and begun.previous is not None
        target = await deps.store.get_version(ctx.workspace_id, request.project_id, target_version)
        if target is None:
            raise NotFound(
                f"Version {target_version} of project {request.project_id} does not "
                f"exist; its versions are 1 to {begun.latest}.",
                code="version_not_found",
            )
        stored = await store_once(
            deps.store,
            ctx.workspace_id,
            request.project_id,
            after=begun.latest,
            user_id=request.user_id,
            action="rollback",
            instruction=f"rollback to version {target_version}",
            spec_json=target.spec_json,
            expect_latest=True,
        )
        yield architecture_event(request, stored, previous=json.loads(begun.previous))

    async def run(request: UpdateSpecRequest, ctx: JobContext) -> AsyncIterator[Event]:
        started = Checkpoint()
        async for event in stage(ctx.step, BEGIN, begin(request, ctx), started):
            yield event
        begun = started.output(Begun)
        assert begun.previous is not None  # update's begin always gives the current spec
        if request.rollback_to is not None:
            async for event in stage(ctx.step, STORE, rollback(request, ctx, begun), Checkpoint()):
                yield event
            return
        previous: dict[str, Any] = json.loads(begun.previous)

        def convert(reply: dict[str, Any]) -> Architecture:
            return apply_edits(previous, reply)

        def structured(first: Message, plan: Message) -> CompletionRequest:
            return CompletionRequest(
                system=prompts.maintainer_system(models, deps.default_model),
                messages=(first, plan, Message("user", prompts.EDIT_REQUEST)),
                max_tokens=deps.edit_max_tokens,
                json_schema=edit_schema(list(previous["agents_config"]), models),
                schema_name="spec_edits",
                temperature=0.0,
            )

        async def finish(
            llm: LLM, change: CompletionRequest
        ) -> AsyncIterator[Notice | Architecture]:
            async for item in structured_with_repair(
                llm, change, convert, max_repairs=deps.max_repairs,
                repair=prompts.edit_repair_message,
            ):  # fmt: skip
                yield item if isinstance(item, Notice) else item.value

        spec_run = SpecRun(
            action="update",
            instruction=request.user_input or "",
            start_message="Updating architecture specification...",
            system=prompts.maintainer_system(models, deps.default_model),
            draft_tokens=deps.plan_max_tokens,
            empty_draft="(no plan)",
            structured=structured,
            finish=finish,
            announce=lambda stored: architecture_event(request, stored, previous=previous),
            expect_latest=True,
        )
        async for event in design_and_store(
            deps, ctx, spec_run, begun, user_id=request.user_id, project_id=request.project_id
        ):
            yield event

    return run
