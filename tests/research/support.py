"""Helpers for research pipeline tests: stores, scripted models per role, probes."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agents.llm.port import (
    Completed,
    CompletionRequest,
    ForwardingLLM,
    LLMEvent,
    RetryScheduled,
    Role,
    SearchHit,
    StaticRegistry,
)
from agents.pipeline import JobContext
from agents.protocol import Event, ResearchRequest
from agents.research.config import ResearchLimits
from agents.research.deps import ResearchDeps
from agents.research.pipeline import research_pipeline
from agents.research.policy import ContentPolicy
from agents.sources.base import SourceProvider
from agents.sources.corpus import CorpusProvider
from bench.research_store import MemoryProjectStore
from server.storage.local import LocalArtifactStore
from tests.support.failures import events_as_sent
from tests.support.scripted_llm import Reply, ScriptedLLM

WORKSPACE = "ws_test"


async def fake_pdf(
    markdown: str, *, title: str, subtitle: str = "", meta: Mapping[str, str] | None = None
) -> bytes:
    """A fast stand-in for the PDF renderer: a PDF header and the text (not a real layout)."""
    return b"%PDF-1.4\n% test render\n" + title.encode() + b"\n" + markdown.encode()


@dataclass
class ConcurrencyProbe(ForwardingLLM):
    """Wraps an LLM; counts streams in flight and can hold them until `hold_until` overlap."""

    inner: ScriptedLLM
    hold_until: int = 0
    active: int = 0
    peak: int = 0
    _gate: asyncio.Event = field(default_factory=asyncio.Event)

    async def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            if self.hold_until and self.peak >= self.hold_until:
                self._gate.set()
            if self.hold_until:
                # Proceeds only once `hold_until` calls were in flight together.
                await asyncio.wait_for(self._gate.wait(), timeout=10)
            async for event in self.inner.stream(request):
                yield event
        finally:
            self.active -= 1


@dataclass
class RetryOnce(ForwardingLLM):
    """Wraps an LLM; announces one retry (as a provider would) before the real answer."""

    inner: ScriptedLLM

    async def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        yield RetryScheduled(attempt=1, delay=0.0, reason="overloaded_error (529)")
        async for event in self.inner.stream(request):
            yield event


@dataclass
class WebSearchLLM(ScriptedLLM):
    """A scripted model with server-side web search: every answer carries `hits`."""

    hits: tuple[SearchHit, ...] = ()

    async def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        async for event in super().stream(request):
            if isinstance(event, Completed) and request.web_search is not None:
                event = Completed(replace(event.result, sources=self.hits))
            yield event


_BLOCK = re.compile(r"^\[(\d+)\] [^\n]*\n(.*?)(?=\n\n\[\d+\] |\n\nAnswer as JSON|\Z)", re.M | re.S)
_SENTENCE_LINE = re.compile(r"^\((\d+\.\d+)\) (.+)$", re.M)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{4,}", text.lower())}


def shown_sentences(prompt: str) -> dict[int, list[tuple[str, str]]]:
    """The sentences of each source block of a claims prompt: {source: [(id, sentence)]}."""
    _, _, body = prompt.partition("\nSources:\n")
    return {int(m.group(1)): _SENTENCE_LINE.findall(m.group(2)) for m in _BLOCK.finditer(body)}


def selected_ids(prompt: str, *, invent: bool = False) -> list[str]:
    """What a careful researcher answers: for each source shown, the id of its first sentence
    sharing a word with the question or topic, else of its first sentence. `invent` adds an
    id that no source has (a real grammar-constrained model cannot; the pipeline drops it)."""
    head, _, _ = prompt.partition("\nSources:\n")
    wanted = _words(
        " ".join(ln for ln in head.splitlines() if ln.startswith(("Topic:", "Question:")))
    )
    ids: list[str] = []
    for listed in shown_sentences(prompt).values():
        if listed:
            ids.append(next((i for i, s in listed if _words(s) & wanted), listed[0][0]))
    if invent and ids:
        ids.append("99.9")
    return ids


@dataclass
class QuotingResearcher(ScriptedLLM):
    """A scripted researcher answering claims requests from the sentences in its prompt (see
    `selected_ids`); `followups` are returned as "missing" in the first answers, one list per
    call. Other requests fall through to the scripted replies."""

    invent: bool = False
    followups: list[list[str]] = field(default_factory=list)

    async def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        if request.schema_name != "research_claims" or self.replies or self.fallback:
            async for event in super().stream(request):
                yield event
            return
        prompt = request.messages[-1].content
        missing = self.followups.pop(0) if self.followups else []
        answer = {"facts": selected_ids(prompt, invent=self.invent), "missing": missing}
        self.enqueue(answer)  # the queue is empty here (see the first condition)
        async for event in super().stream(request):
            yield event


PLAN = {
    "questions": [
        "How large is the market for AI in financial services?",
        "Which banks lead in AI-based fraud detection?",
        "What does the EU AI Act require for credit scoring?",
    ]
}

USE_CASES = {
    "use_cases": [
        {
            "title": f"Use case {i}",
            "description": f"Description {i}",
            "business_value": "Saves analyst time",
            "implementation": "Start with a pilot",
            "estimated_roi": "150% in 2 years" if i == 1 else "",
            "roi_basis": "fraud losses fell 30% [2]" if i == 1 else "",
            "evidence": [[1, 2], [2], []][i - 1],
            "cost": ["low", "medium", "high"][i - 1],
            "risk": ["low", "medium", "high"][i - 1],
            "fit": ["strong", "partial", "weak"][i - 1],
        }
        for i in range(1, 4)
    ]
}

REPORT = (
    "## Executive Summary\nBanks invest in AI [1]. Fraud models cut losses [2][99].\n\n"
    "## Market Analysis\nThe market grows fast [3, 42].\n\n"
    "## Key Findings\n- Regulation matters [Source 2]\n\n## Recommendations\nStart small [1].\n"
)
DISCOVERY = (
    "## Company Context\nTestCompany is a bank [1].\n\n## AI Opportunities\nFraud [2].\n\n"
    "## Readiness and Risks\nData quality.\n\n## Roadmap\nPilot first [7].\n"
)


@dataclass
class Models:
    planner: ScriptedLLM
    researcher: ScriptedLLM
    writer: ScriptedLLM
    analyst: ScriptedLLM

    def registry(self, **override: Any) -> StaticRegistry:
        by_role = {
            Role.PLANNER: override.get("planner", self.planner),
            Role.RESEARCHER: override.get("researcher", self.researcher),
            Role.WRITER: override.get("writer", self.writer),
            Role.ANALYST: override.get("analyst", self.analyst),
        }
        return StaticRegistry(default=self.planner, by_role=by_role)

    def total_requests(self) -> int:
        return sum(
            len(m.requests) for m in (self.planner, self.researcher, self.writer, self.analyst)
        )


def scripted_models(
    *,
    plan: dict[str, Any] | None = None,
    report: str = REPORT,
    discovery: str = DISCOVERY,
    use_cases: dict[str, Any] | None = None,
    invent: bool = False,
) -> Models:
    return Models(
        planner=ScriptedLLM().enqueue(plan or PLAN),
        researcher=QuotingResearcher(invent=invent),
        writer=ScriptedLLM().enqueue(Reply(text=report, chunk_size=7)),
        analyst=ScriptedLLM().enqueue(Reply(text=discovery, chunk_size=9), use_cases or USE_CASES),
    )


def make_deps(
    models: Models,
    tmp_path: Path,
    *,
    sources: Sequence[SourceProvider] | None = None,
    projects: MemoryProjectStore | None = None,
    limits: ResearchLimits | None = None,
    policy: ContentPolicy | None = None,
    render_pdf: Any = fake_pdf,
    **llm_override: Any,
) -> ResearchDeps:
    return ResearchDeps(
        llms=models.registry(**llm_override),
        artifacts=LocalArtifactStore(tmp_path / "artifacts", "http://127.0.0.1:8000"),
        sources=list(sources) if sources is not None else [CorpusProvider(None)],
        projects=projects or MemoryProjectStore(),
        policy=policy or ContentPolicy.default(),
        limits=limits or ResearchLimits(),
        render_pdf=render_pdf,
    )


def request(**fields: Any) -> ResearchRequest:
    base: dict[str, Any] = {
        "prompt": "AI adoption in banking and fraud detection",
        "company_name": "TestCompany",
        "company_url": "https://example.com/",
        "user_id": "user123",
        "session_id": "session456",
    }
    base.update(fields)
    return ResearchRequest(**base)


async def run_job(deps: ResearchDeps, req: ResearchRequest | None = None) -> list[Event]:
    pipeline = research_pipeline(deps)
    ctx = JobContext(job_id="job_1", workspace_id=WORKSPACE, endpoint="research")
    return await events_as_sent(pipeline, req or request(), ctx)


def of_type(events: Sequence[Event], type_: str) -> list[Any]:
    return [e for e in events if e.type == type_]


_CLAIM_LINE = re.compile(r"^- (.+?) \[(\d+)\]$", re.M)
_CITED = re.compile(r"\[(\d+)\]")


def written_from_claims(prompt: str, *, extra: str = "") -> str:
    """What a faithful writer answers to a writing prompt: the writer's recommendations (one
    bullet per claim in its prompt, citing it) and the analyst's AI Opportunities and Roadmap
    (citing the claims it is shown). `extra` is written too, uncited, to show the guard at work;
    one bullet is repeated."""
    numbers = list(dict.fromkeys(_CITED.findall(prompt.split("Source list:")[0])))[:4]
    bullets = [f"- Start with a pilot that builds on finding [{n}]." for n in numbers]
    if extra:
        bullets.insert(0, f"- {extra}")
    bullets += bullets[-1:]  # a repeated sentence, for the guard
    if "Research notes (verified claims):" in prompt:
        return "\n".join(bullets) + "\n"
    return (
        "## AI Opportunities\n\n" + "\n".join(bullets[:3]) + "\n\n## Roadmap\n\n"
        "- Run a three-month pilot, then extend it.\n"
    )


@dataclass
class ClaimWriter(ScriptedLLM):
    """A scripted writer that does what the prompts ask: the writer's recommendations (one
    bullet per claim in its prompt, citing it) and the analyst's AI Opportunities and Roadmap
    (citing the claims it is shown). `extra` is written too, uncited and naming the company, to
    show the guard at work; one bullet is repeated. Structured requests fall through to the
    scripted replies."""

    extra: str = ""

    async def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        if request.json_schema is not None:
            async for event in super().stream(request):
                yield event
            return
        text = written_from_claims(request.messages[-1].content, extra=self.extra)
        self.replies.appendleft(Reply(text=text, chunk_size=11))
        async for event in super().stream(request):
            yield event


def research_answer(schema: str | None, prompt: str) -> str:
    """The answer of a careful model to each request of a research job, by the structured
    output it asks for (None: the report or discovery text), for protocol peers
    (tests.support.openai_peer) serving a whole job."""
    if schema == "research_plan":
        return json.dumps(PLAN)
    if schema == "research_claims":
        return json.dumps({"facts": selected_ids(prompt), "missing": []})
    if schema == "use_cases":
        return json.dumps(USE_CASES)
    if schema is not None:
        raise AssertionError(f"no scripted answer for the schema {schema!r}")
    return written_from_claims(prompt)
