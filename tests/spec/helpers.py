"""Shared builders for spec tests: valid designs, a SQLite-backed store, a pipeline runner."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import jsonschema

from agents.llm.port import CompletionRequest, LLMEvent, StaticRegistry
from agents.llm.structured import closed_schema
from agents.pipeline import JobContext, Pipeline
from agents.protocol import StrictRequest, event_to_dict
from agents.spec.deps import SpecDeps
from server.db.base import Base, make_engine, make_sessionmaker
from server.db.specs import SqlSpecStore
from tests.support.failures import events_as_sent
from tests.support.scripted_llm import ScriptedLLM

MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"
OTHER_MODEL = "anthropic.claude-haiku-4-5-20251001-v1:0"


def agent(name: str, *, tools: list[str] | None = None, model: str = MODEL) -> dict[str, Any]:
    return {
        "name": name.replace("_", " ").title(),
        "description": f"The {name} does its part.",
        "model": model,
        "prompt": f"You are the {name}.",
        "tools": tools if tools is not None else ["http_fetch"],
        "memory": {"enabled": True, "strategies": ["summary"]},
    }


def spec_dict(*ids: str) -> dict[str, Any]:
    """A valid Architecture-shaped dict with the given agent ids in a pipeline."""
    ids = ids or ("research_agent", "analysis_agent")
    return {
        "agents_config": {i: agent(i) for i in ids},
        "orchestration": {"pattern": "pipeline", "entry_agent": ids[0], "order": list(ids)},
        "gateway_config": {
            "provider": "api_gateway",
            "targets": [{"path": "/invoke", "agent": ids[0]}],
        },
    }


def design(*ids: str) -> dict[str, Any]:
    """A valid model-facing design (agents as a list)."""
    ids = ids or ("research_agent", "analysis_agent")
    return {
        "agents": [{"id": i, **agent(i)} for i in ids],
        "orchestration": {"pattern": "pipeline", "entry_agent": ids[0], "order": list(ids)},
        "gateway_targets": [],
    }


def with_change(data: dict[str, Any], fn: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    fn(out)
    return out


@asynccontextmanager
async def sql_store(tmp_path: Path) -> AsyncIterator[SqlSpecStore]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'specs.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    try:
        yield SqlSpecStore(make_sessionmaker(engine))
    finally:
        await engine.dispose()


class ReportLoader:
    """Records calls; returns a fixed report for known (url, workspace) pairs."""

    def __init__(self, reports: dict[tuple[str, str], str] | None = None):
        self.reports = reports or {}
        self.calls: list[tuple[str, str]] = []

    async def __call__(self, url: str, workspace_id: str) -> str:
        self.calls.append((url, workspace_id))
        from agents.errors import NotFound

        if (url, workspace_id) not in self.reports:
            raise NotFound("report not found")
        return self.reports[(url, workspace_id)]


def make_deps(
    llm: ScriptedLLM, store: SqlSpecStore, loader: ReportLoader | None = None
) -> SpecDeps:
    return SpecDeps(
        llms=StaticRegistry(default=llm),
        store=store,
        load_report=loader or ReportLoader(),
    )


async def collect(
    pipeline: Pipeline, request: StrictRequest, workspace: str = "ws1"
) -> list[dict[str, Any]]:
    ctx = JobContext(job_id="job-1", workspace_id=workspace, endpoint="spec")
    events = await events_as_sent(pipeline, request, ctx, endpoint="getspec")
    return [event_to_dict(e) for e in events]


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


class SchemaCheckedLLM(ScriptedLLM):
    """A ScriptedLLM that refuses a structured reply its request's (closed) schema rejects.

    What a grammar-constrained provider does: a scripted reply that passes here is one the
    local model could have produced under the request's grammar.
    """

    async def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        reply = self.replies[0] if self.replies else self.fallback
        if request.json_schema is not None and reply is not None and reply.structured is not None:
            jsonschema.validate(reply.structured, closed_schema(request.json_schema))
        async for event in super().stream(request):
            yield event
