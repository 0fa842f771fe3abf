"""Helpers for the chat pipeline tests: build deps, run one turn, collect its events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import httpx

from agents.chat import ChatConfig, ChatDeps, ChatSessionStore, chat_pipeline
from agents.llm.port import (
    Completed,
    CompletionRequest,
    LLMEvent,
    StaticRegistry,
    WebSearchPerformed,
)
from agents.pipeline import JobContext
from agents.protocol import ChatRequest, Event
from agents.report_loader import ReportSourcePolicy
from tests.chat.memory_store import MemoryArtifactStore
from tests.support.failures import events_as_sent
from tests.support.scripted_llm import ScriptedLLM


@dataclass
class SearchingLLM(ScriptedLLM):
    """A ScriptedLLM whose replies report server-side web searches, as a provider's would."""

    queries: tuple[str, ...] = ()

    async def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        async for event in super().stream(request):
            if isinstance(event, Completed):
                if self.queries:
                    yield WebSearchPerformed(query=self.queries[0], results=())
                yield Completed(replace(event.result, searches=self.queries))
            else:
                yield event


def make_deps(
    llm: ScriptedLLM,
    sessions: ChatSessionStore,
    artifacts: MemoryArtifactStore,
    http: httpx.AsyncClient,
    *,
    report_sources: ReportSourcePolicy | None = None,
    config: ChatConfig | None = None,
) -> ChatDeps:
    return ChatDeps(
        llms=StaticRegistry(default=llm),
        sessions=sessions,
        artifacts=artifacts,
        http=http,
        report_sources=report_sources or ReportSourcePolicy(),
        config=config or ChatConfig(),
    )


def chat_request(question: str, **fields: Any) -> ChatRequest:
    messages = fields.pop("messages", None) or [{"role": "user", "content": question}]
    data: dict[str, Any] = {
        "messages": messages,
        "user_id": "u1",
        "session_id": "s1",
        **fields,
    }
    if "report" not in data and "s3_report_url" not in data:
        data["report"] = "# Report\n\n## Findings\n\nRevenue grew 12% in 2024."
    return ChatRequest.model_validate(data)


async def run_turn(
    deps: ChatDeps, request: ChatRequest, *, workspace_id: str = "ws1"
) -> list[Event]:
    pipeline = chat_pipeline(deps)
    ctx = JobContext(job_id="job1", workspace_id=workspace_id, endpoint="chat")
    return await events_as_sent(pipeline, request, ctx)


def of_type(events: list[Event], kind: str) -> list[Any]:
    return [e for e in events if e.type == kind]
