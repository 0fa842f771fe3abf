"""/getspec: design a multi-agent architecture from a use case (and optionally a report).

Events: ack -> stream_start -> stream_chunk* (the model's design rationale, as it is written,
about one chunk per `deps.stream_window` seconds) -> stream_end -> architecture. The steps
(begin, design, validate, store) are the sequence /updatespec shares (agents/spec/sequence.py).

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

from agents.llm.port import LLM, CompletionRequest, Message
from agents.llm.stream import Notice
from agents.pipeline import Checkpoint, JobContext, Pipeline, StepOutput, stage
from agents.protocol import Event, GetSpecRequest
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
from agents.spec.sequence import (
    BEGIN,
    GENERATION_FAILED,
    Begun,
    SpecRun,
    ack,
    architecture_event,
    design_and_store,
    generation_failed,
    stream_rationale,
)
from agents.spec.validation import validate_spec

__all__ = [
    "GENERATION_FAILED",
    "BadReferences",
    "fix_references",
    "generation_failed",
    "getspec_pipeline",
    "reference_errors",
    "stream_rationale",
    "truncate_report",
]


def truncate_report(report: str, budget: int) -> str:
    if len(report) <= budget:
        return report
    return report[:budget].rstrip() + "\n[... report truncated ...]"


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

    async def begin(request: GetSpecRequest, ctx: JobContext) -> AsyncIterator[Any]:
        yield ack(request, ctx, "generate")
        report: str | None = None
        if request.s3_uri:
            report = truncate_report(
                await deps.load_report(request.s3_uri, ctx.workspace_id), deps.report_char_budget
            )
        current = await deps.store.current(ctx.workspace_id, request.project_id)
        use_case = prompts.use_case_message(
            request.use_case_name, request.use_case_description, report
        )
        prompt = prompts.rationale_request(use_case)
        yield StepOutput(Begun(prompt, current.version if current is not None else 0))

    def structured(first: Message, rationale: Message) -> CompletionRequest:
        return CompletionRequest(
            system=prompts.architect_system(models, deps.default_model),
            messages=(first, rationale, Message("user", prompts.DESIGN_REQUEST)),
            max_tokens=deps.spec_max_tokens,
            json_schema=design_schema(models),
            schema_name="architecture",
            temperature=0.0,
        )

    async def finish(llm: LLM, final: CompletionRequest) -> AsyncIterator[Notice | Architecture]:
        async for item in structured_with_repair(llm, final, convert, max_repairs=deps.max_repairs):
            if isinstance(item, Notice):
                yield item
            elif isinstance(item.value, BadReferences):
                repairs_left = deps.max_repairs - (item.attempts - 1)
                async for fixed in fix_references(llm, final, item, repairs_left):
                    yield fixed
            else:
                yield item.value

    async def run(request: GetSpecRequest, ctx: JobContext) -> AsyncIterator[Event]:
        begun = Checkpoint()
        async for event in stage(ctx.step, BEGIN, begin(request, ctx), begun):
            yield event

        spec_run = SpecRun(
            action="generate",
            instruction=request.use_case_name,
            start_message="Generating architecture specification...",
            system=prompts.architect_system(models, deps.default_model),
            draft_tokens=deps.rationale_max_tokens,
            empty_draft="(none)",
            structured=structured,
            finish=finish,
            announce=lambda stored: architecture_event(request, stored),
        )
        async for event in design_and_store(
            deps, ctx, spec_run, begun.value, user_id=request.user_id, project_id=request.project_id
        ):
            yield event

    return run


@dataclass(frozen=True)
class BadReferences:
    """A converted design whose orchestration or targets name agents it does not define."""

    spec: dict[str, Any]
    errors: list[str]
    design: dict[str, Any]


async def fix_references(
    llm: LLM, request: CompletionRequest, answer: Attempted[Any], repairs_left: int
) -> AsyncIterator[Notice | Architecture]:
    """Ask again for only the orchestration and targets, with the defined ids as an enum; yields
    the calls' notices, then the fixed spec.

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

    async for item in structured_with_repair(llm, fix, apply, max_repairs=repairs_left - 1):
        yield item if isinstance(item, Notice) else item.value
