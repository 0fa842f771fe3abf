"""The research loop of one question: search → read → extract claims → note what is still
unknown → follow-up searches, for at most `profile.rounds` rounds.

Round 1 searches the question itself; each later round searches up to `profile.followups` of
the researcher's "missing" queries not searched yet. Every round shows the researcher the most
relevant sources gathered so far (job sources such as the company pages included) and asks for
claims with quotes (agents/research/claims.py); only checked claims are kept. A progress event
per round gives the round and the counts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from agents.llm.errors import LLMError, LLMStructuredOutputError
from agents.llm.port import LLMEvent, Role
from agents.protocol import Event, MultiagentProgress
from agents.research import prompts
from agents.research.claims import Claim, check_claims, normalize, selected_claims
from agents.research.excerpts import rank_sources
from agents.research.state import (
    JobState,
    LLMCall,
    QuestionResult,
    describe_error,
    llm_event_status,
)
from agents.sources.base import Source, SourceError, SourceProvider, SourceQuery

RESEARCH = "research"
Emit = Callable[[Event], None]


async def search_all(
    state: JobState, providers: Sequence[SourceProvider], query: SourceQuery, emit: Emit
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


def _query(state: JobState, text: str, on_llm_event: Callable[[LLMEvent], None]) -> SourceQuery:
    docs = state.request.documents
    return SourceQuery(
        question=text,
        topic=state.topic,
        company_name=state.company,
        documents=tuple(docs) if docs is not None else None,
        max_sources=state.profile.sources_per_question,
        on_llm_event=on_llm_event,
        budget=state.budget,
    )


async def _claims_round(
    state: JobState, question: str, numbered: list[tuple[int, Source]], known: list[Claim],
    emit: Emit,
) -> tuple[object, bool]:  # fmt: skip
    """(structured answer, ok); ok is False when the model call failed."""
    request, ids = prompts.claims_request(
        question,
        topic=state.topic,
        company=state.company,
        sources=numbered,
        known=[c.text for c in known],
        excerpt_chars=state.deps.limits.excerpt_chars,
        max_tokens=state.profile.notes_tokens,
        skip=state.kept_sentences,
    )
    call = LLMCall(state, RESEARCH, state.llm(Role.RESEARCHER), request)
    try:
        async for event in call.events():
            if isinstance(event, Event):
                emit(event)
    except LLMStructuredOutputError:
        return None, True
    except LLMError as exc:
        emit(state.status(f"{question[:60]}: the researcher failed ({describe_error(exc)})"))
        return None, False
    assert call.result is not None
    return selected_claims(call.result.structured, ids), True


LOCAL_PROVIDER = "local"  # the embedded model (agents/llm/local.py)


def serial_claims(state: JobState) -> bool:
    """Whether the questions' claims calls take turns (ResearchLimits.serial_claims)."""
    configured = state.deps.limits.serial_claims
    if configured is not None:
        return configured
    return state.llm(Role.RESEARCHER).provider == LOCAL_PROVIDER


def _claims_turn(state: JobState) -> AbstractAsyncContextManager[Any]:
    """The job's claims turn when calls are serial (see `serial_claims`), else no wait."""
    return state.claims_turn if serial_claims(state) else contextlib.nullcontext()


async def research_question(
    state: JobState, index: int, question: str, emit: Emit
) -> QuestionResult | None:
    """All rounds for one question; None when not one round reached the model."""

    def on_llm_event(event: LLMEvent) -> None:
        status = llm_event_status(state, RESEARCH, event, seen_queue=True)
        if status is not None:
            emit(status)

    result = QuestionResult(question)
    searched = {normalize(question)}
    queries = [question]
    found: list[Source] = []
    answered = False
    limit = state.profile.sources_per_question + 2
    for round_no in range(1, max(1, state.profile.rounds) + 1):
        for text in queries:
            found.extend(
                await search_all(state, state.deps.sources, _query(state, text, on_llm_event), emit)
            )
        result.searches += len(queries)
        result.rounds = round_no
        numbered = state.registry.add_all([*state.job_sources, *found])
        result.sources = numbered
        shown = rank_sources(numbered, f"{question} {state.topic}", limit=limit)
        async with _claims_turn(state):
            structured, ok = await _claims_round(state, question, shown, result.claims, emit)
            check = check_claims(
                structured, sources=dict(shown), question=question, topic=state.topic,
                company=state.company,
            )  # fmt: skip
            known = {normalize(c.text) for c in result.claims}
            result.claims.extend(c for c in check.kept if normalize(c.text) not in known)
            state.kept_sentences.update(normalize(c.quote) for c in check.kept)
        answered = answered or ok
        result.dropped += len(check.dropped)
        state.dropped_reasons.extend(r for _, r in check.dropped)
        emit(
            MultiagentProgress(
                step=RESEARCH,
                session_id=state.sid,
                message=(
                    f"Question {index + 1}, round {round_no}/{state.profile.rounds}: "
                    f"{len(queries)} search(es), {len(shown)} sources shown, "
                    f"{len(check.kept)} claims kept, {len(check.dropped)} dropped, "
                    f"{state.budget.pages} pages read in the job"
                ),
                progress_percent=10
                + min(39, (40 * len(state.notes_done)) // max(1, len(state.questions))),
            )
        )
        queries = []
        for q in check.followups:
            if normalize(q) not in searched and len(queries) < state.profile.followups:
                searched.add(normalize(q))
                queries.append(q)
        if not ok or not queries:
            break
    return result if answered else None
