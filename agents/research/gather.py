"""Steps 1 and 2: plan the research questions, then research them in parallel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from agents.llm.errors import LLMError, LLMStructuredOutputError
from agents.llm.port import LLMEvent, Role
from agents.protocol import Event, MultiagentProgress, MultiagentStep
from agents.research import prompts
from agents.research.citations import CitationFilter
from agents.research.config import MAX_QUESTIONS, MIN_QUESTIONS
from agents.research.state import JobState, LLMCall, StepFailed, describe_error, llm_event_status
from agents.sources.base import JobSources, Source, SourceError, SourceProvider, SourceQuery
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


async def _search_all(
    state: JobState, providers: Sequence[SourceProvider], query: SourceQuery, emit: Any
) -> list[Source]:
    async def one(provider: SourceProvider) -> list[Source]:
        try:
            result = await provider.search(query)
        except (SourceError, LLMError) as exc:
            emit(
                state.status(f"Source {provider.name} failed for a question: {describe_error(exc)}")
            )
            return []
        for notice in result.notices:
            emit(state.status(notice))
        state.ledger.add(RESEARCH, result.usage, result.cost_usd)
        return list(result.sources)

    found = await asyncio.gather(*(one(p) for p in providers))
    return [s for batch in found for s in batch]


async def _research_question(
    state: JobState, index: int, question: str, emit: Any, done: list[int]
) -> tuple[str, str] | None:
    """Gather sources for one question and write notes citing them; None if it failed."""

    def on_llm_event(event: LLMEvent) -> None:
        status = llm_event_status(state, RESEARCH, event, seen_queue=True)
        if status is not None:
            emit(status)

    query = SourceQuery(
        question=question,
        topic=state.topic,
        company_name=state.company,
        documents=tuple(state.request.documents) if state.request.documents is not None else None,
        max_sources=state.profile.sources_per_question,
        on_llm_event=on_llm_event,
    )
    found = await _search_all(state, state.deps.sources, query, emit)
    numbered = state.registry.add_all([*state.job_sources, *found])
    request = prompts.research_request(
        question,
        topic=state.topic,
        company=state.company,
        sources=numbered,
        excerpt_chars=state.deps.limits.excerpt_chars,
        max_tokens=state.profile.notes_tokens,
    )
    call = LLMCall(state, RESEARCH, state.llm(Role.RESEARCHER), request)
    try:
        async for event in call.events():
            if isinstance(event, Event):
                emit(event)
    except LLMError as exc:
        emit(state.status(f"Question {index + 1} could not be researched: {describe_error(exc)}"))
        return None
    assert call.result is not None
    cites = CitationFilter({n for n, _ in numbered})
    notes = cites.filter(call.result.text).strip()
    state.citations_removed += cites.removed
    done.append(index)
    total = len(state.questions)
    emit(
        MultiagentProgress(
            step=RESEARCH,
            session_id=state.sid,
            message=f"Researched question {len(done)}/{total} ({len(numbered)} sources)",
            progress_percent=10 + (40 * len(done)) // max(1, total),
        )
    )
    return question, notes or "(no notes)"


async def research(state: JobState) -> AsyncIterator[Event]:
    yield MultiagentStep(step=RESEARCH, message="Researching sources...", session_id=state.sid)
    for event in await _job_sources(state):
        yield event

    queue: asyncio.Queue[Event | None] = asyncio.Queue()
    results: list[tuple[str, str] | None] = [None] * len(state.questions)
    semaphore = asyncio.Semaphore(max(1, state.deps.limits.concurrency))
    done: list[int] = []

    async def worker(index: int, question: str) -> None:
        async with semaphore:
            results[index] = await _research_question(
                state, index, question, queue.put_nowait, done
            )

    async def run_all() -> None:
        try:
            async with asyncio.TaskGroup() as group:
                for i, q in enumerate(state.questions):
                    group.create_task(worker(i, q))
        finally:
            queue.put_nowait(None)

    runner = asyncio.create_task(run_all())
    try:
        while (item := await queue.get()) is not None:
            yield item
        await runner
    finally:
        if not runner.done():
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)

    state.notes = [r for r in results if r is not None]
    if not state.notes:
        raise StepFailed(RESEARCH, "no research question could be answered")
    yield MultiagentProgress(
        step=RESEARCH, session_id=state.sid, progress_percent=50,
        message=f"Research done: {len(state.notes)} questions, {len(state.registry)} sources",
    )  # fmt: skip
