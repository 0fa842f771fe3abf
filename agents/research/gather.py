"""Steps 1 and 2: plan the research questions, then research them in parallel.

Step 2 is three kinds of durable step (agents/research/pipeline.py runs them): the job's own
sources, one step per question (in parallel, `deps.limits.concurrency` at a time), and the
summary of their claims.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from agents.llm.errors import LLMStructuredOutputError
from agents.llm.port import Role
from agents.pipeline import StepOutput
from agents.protocol import Event, MultiagentProgress, MultiagentStep
from agents.research import prompts
from agents.research.checkpoint import question_done, question_state
from agents.research.claims import claims_notes
from agents.research.config import MAX_QUESTIONS, MIN_QUESTIONS
from agents.research.loop import research_question
from agents.research.state import JobState, LLMCall, QuestionResult, StepFailed, describe_error
from agents.sources.base import JobSources, Source, SourceProvider
from agents.sources.search.provider import SearchApiProvider
from agents.sources.web_search import ModelWebSearchProvider

PLAN = "planning"
RESEARCH = "research"


def clean_questions(structured: Any, *, limit: int) -> list[str]:
    """The usable questions of a planner answer: strings, trimmed, deduplicated, capped."""
    raw = structured.get("questions") if isinstance(structured, dict) else None
    if not isinstance(raw, list):
        return []
    out: list[str] = []
    seen: set[str] = set()
    for item in raw:
        if not isinstance(item, str):
            continue
        q = " ".join(item.split())
        if len(q) < 8 or len(q) > 400 or q.lower() in seen:
            continue
        seen.add(q.lower())
        out.append(q)
    return out[: max(MIN_QUESTIONS, min(limit, MAX_QUESTIONS))]


def searches_web(provider: SourceProvider) -> bool:
    if isinstance(provider, SearchApiProvider):
        return True
    return isinstance(provider, ModelWebSearchProvider) and provider.available


def providers_status(state: JobState, providers: Sequence[SourceProvider]) -> Event:
    """The status event naming the providers this job uses (also kept for the method note)."""
    web = [p.name for p in providers if searches_web(p)]
    other = [p.name for p in providers if not searches_web(p) and p.name != "web_search"]
    state.providers_used = [*web, *other]
    if web:
        return state.status(f"Searching the web with {', '.join(web)}; also {', '.join(other)}")
    return state.status(
        "No web search provider is configured (QUBITZ_SEARCH_PROVIDER) and the model has no "
        f"web search: using {', '.join(other) or 'no sources'}"
    )


def complete_plan(questions: list[str], topic: str, company: str) -> list[str]:
    """At least three questions: pad with the standard ones the plan does not already have."""
    out = list(questions)
    for q in prompts.default_questions(topic, company):
        if len(out) >= MIN_QUESTIONS:
            break
        if q not in out:
            out.append(q)
    return out


async def plan(state: JobState) -> AsyncIterator[Event]:
    yield MultiagentStep(step=PLAN, message="Planning research questions...", session_id=state.sid)
    request = prompts.plan_request(state.topic, state.company, state.profile.questions)
    call = LLMCall(state, PLAN, state.llm(Role.PLANNER), request)
    structured: Any = None
    try:
        async for event in call.events():
            if isinstance(event, Event):
                yield event
        assert call.result is not None
        structured = call.result.structured
    except LLMStructuredOutputError:
        structured = None
    questions = clean_questions(structured, limit=state.profile.questions)
    if len(questions) < MIN_QUESTIONS:
        yield state.status(
            f"The plan had {len(questions)} usable questions; adding standard research questions"
        )
        questions = complete_plan(questions, state.topic, state.company)
    state.questions = questions
    listing = " | ".join(f"{i}. {q}" for i, q in enumerate(questions, start=1))
    yield MultiagentProgress(
        step=PLAN, session_id=state.sid, progress_percent=10,
        message=f"{len(questions)} research questions: {listing}",
    )  # fmt: skip


async def _job_sources(state: JobState) -> list[Event]:
    job = JobSources(
        topic=state.topic,
        company_name=state.company,
        company_url=state.company_url,
        urls=state.urls,
        documents=tuple(state.request.documents) if state.request.documents is not None else None,
        max_sources=state.profile.sources_per_question,
        budget=state.budget,
    )
    providers = list(state.deps.sources)
    events: list[Event] = [providers_status(state, providers)]
    results = await asyncio.gather(*(p.for_job(job) for p in providers), return_exceptions=True)
    for provider, result in zip(providers, results, strict=True):
        if isinstance(result, asyncio.CancelledError):
            raise result
        if isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result
            events.append(
                state.status(f"Source {provider.name} unavailable: {describe_error(result)}")
            )
            continue
        events.extend(state.status(n) for n in result.notices)
        state.job_sources.extend(result.sources)
        state.ledger.add(RESEARCH, result.usage, result.cost_usd)
    numbered = state.registry.add_all(state.job_sources)
    state.company_profile = company_profile(numbered, state.deps.limits.company_profile_chars)
    return events


def company_profile(numbered: Sequence[tuple[int, Source]], max_chars: int) -> str:
    """The company's own pages, numbered for citation, shared out within `max_chars`."""
    pages = [(n, s) for n, s in numbered if s.company]
    if not pages:
        return ""
    each = max(300, max_chars // len(pages))
    return "\n\n".join(f"[{n}] {s.title}: {prompts.clip(s.text, each)}" for n, s in pages)


async def research_sources(state: JobState) -> AsyncIterator[Event]:
    """Step 2a: what every provider gives for the whole job (e.g. the company's pages)."""
    yield MultiagentStep(step=RESEARCH, message="Researching sources...", session_id=state.sid)
    for event in await _job_sources(state):
        yield event


async def research_one(state: JobState, index: int, question: str) -> AsyncIterator[Any]:
    """Step 2b, one per question (they run in parallel): the question's events, then its
    `QuestionDone` (agents/research/checkpoint.py) as the step's output."""
    mine = question_state(state)
    queue: asyncio.Queue[Event | None] = asyncio.Queue()

    async def run() -> QuestionResult | None:
        try:
            return await research_question(mine, index, question, queue.put_nowait)
        finally:
            queue.put_nowait(None)

    task = asyncio.create_task(run())
    try:
        while (item := await queue.get()) is not None:
            yield item
        result = await task
    finally:
        # Cancelled or not, the task's end is always awaited: a question that failed while this
        # step was being closed (another question spent the budget) must not leave a task
        # exception nobody retrieved.
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    if result is None:
        yield state.status(f"Question {index + 1} could not be researched")
    yield StepOutput(question_done(mine, index, result))


async def research_summary(
    state: JobState, results: Sequence[QuestionResult | None]
) -> AsyncIterator[Event]:
    """Step 2c: the questions' claims, together; fails when not one question was answered."""
    answered = [r for r in results if r is not None]
    if not answered:
        raise StepFailed(RESEARCH, "no research question could be answered")
    cap = state.deps.limits.claims_per_question
    state.results = answered
    state.notes = [(r.question, claims_notes(r.claims[:cap])) for r in answered]
    state.claims = [c for r in answered for c in r.claims]
    state.claims_dropped = sum(r.dropped for r in answered)
    yield state.status(
        f"Claims: {len(state.claims)} kept, {state.claims_dropped} dropped "
        f"({dropped_summary(state.dropped_reasons)})"
    )
    yield MultiagentProgress(
        step=RESEARCH, session_id=state.sid, progress_percent=50,
        message=(
            f"Research done: {len(answered)} questions, {len(state.registry)} sources, "
            f"{state.budget.pages} pages read, {len(state.claims)} claims kept"
        ),
    )  # fmt: skip


def dropped_summary(reasons: Sequence[str]) -> str:
    if not reasons:
        return "none dropped"
    counts: dict[str, int] = {}
    for r in reasons:
        counts[r] = counts.get(r, 0) + 1
    return "; ".join(f"{n} {r}" for r, n in sorted(counts.items(), key=lambda kv: -kv[1]))
