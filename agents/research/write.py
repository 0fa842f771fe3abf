"""Steps 3-5: write the report (streamed), the AI discovery report (streamed), the use cases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from pydantic import ValidationError

from agents.llm.errors import LLMStructuredOutputError
from agents.llm.port import CompletionRequest, Role, TextDelta
from agents.protocol import (
    Event,
    MultiagentProgress,
    MultiagentStep,
    ResearchChunkData,
    ResearchStreamChunk,
    UseCase,
)
from agents.research import prompts
from agents.research.accounting import Coalescer
from agents.research.citations import CitationFilter, sources_section
from agents.research.compose import (
    Answered,
    Segment,
    cited,
    company_context,
    company_sources,
    report_sections,
    risk_section,
)
from agents.research.guard import CompanyRule, ReportGuard
from agents.research.method import method_note
from agents.research.render import discovery_title, prerender, report_title
from agents.research.rubric import RubricContext, score
from agents.research.state import JobState, LLMCall, StepFailed
from agents.sources.base import Source

WRITE = "writing"
ANALYSIS = "analysis"
USE_CASES = "use_cases"
MIN_USE_CASES = 3  # fewer valid ones than this (or than asked for) -> ask again once


def _md_line(text: str) -> str:
    return " ".join(text.replace("#", "").split())


async def _stream_report(
    state: JobState, step: str, role: Role, request: CompletionRequest, header: str,
    *, title: str, parts: list[str], method: str = "", composed: Sequence[Segment] = (),
) -> AsyncIterator[Event]:  # fmt: skip
    """Stream header + the sections composed from claims + model text (citations checked,
    uncited, repeated and unsupported company sentences dropped) + method note + the cited
    sources; the text lands in `parts`."""
    coalescer = Coalescer(state.deps.limits.chunk_chars)
    # Only sources with a kept claim may be cited: the sidecar holds a quote for each of them.
    # A gathered source the model cites without one (a small model cites what it was shown)
    # loses the citation; the guard then judges the sentence as uncited.
    cites = CitationFilter(state.claimed_sources)
    allowed = company_sources(state.claims, state.registry.numbered(), state.company)
    guard = ReportGuard(title=title, company=state.company, company_sources=allowed)

    def chunk(text: str | None) -> ResearchStreamChunk | None:
        if not text:
            return None
        parts.append(text)
        event = ResearchStreamChunk(
            data=ResearchChunkData(chunk=text, chunk_index=state.chunk_index, step=step),
            session_id=state.sid,
        )
        state.chunk_index += 1
        return event

    body_chars = 0
    raw_chars = 0
    if (ev := chunk(coalescer.add(header))) is not None:
        yield ev
    for text, checked in composed:
        text = guard.feed(cites.feed(text)) if checked else text
        body_chars += len(text.strip()) if checked else 0
        if (ev := chunk(coalescer.add(text))) is not None:
            yield ev
    call = LLMCall(state, step, state.llm(role), request)
    async for event in call.events():
        if isinstance(event, TextDelta):
            raw_chars += len(event.text.strip())
            text = guard.feed(cites.feed(event.text))
            body_chars += len(text.strip())
            if (ev := chunk(coalescer.add(text))) is not None:
                yield ev
        else:
            yield event
    tail = guard.feed(cites.flush()) + guard.flush()
    body_chars += len(tail.strip())
    if raw_chars == 0:
        raise StepFailed(step, "the model returned an empty report")
    if body_chars == 0:
        tail += (
            "\n*No sentence of the draft could be tied to a verified source; see the Method "
            "note and the Sources.*\n"
        )
    numbered = [(n, s) for n, s in state.registry.numbered() if n in cites.cited]
    closing = (f"\n\n{method}" if method else "") + "\n\n" + sources_section(numbered)
    for text in (tail, closing):
        if (ev := chunk(coalescer.add(text))) is not None:
            yield ev
    if (ev := chunk(coalescer.flush())) is not None:
        yield ev
    state.citations_removed += cites.removed
    state.cited_by_report[step] = set(cites.cited)
    if cites.removed:
        yield state.status(
            f"{step}: removed {cites.removed} citation(s) to sources that were not gathered"
        )
    if guard.uncited or guard.repeated or guard.uncited_company:
        yield state.status(
            f"{step}: dropped {guard.uncited} uncited sentence(s), "
            f"{guard.uncited_company} sentence(s) about the company without a company source "
            f"and {guard.repeated} repeated sentence(s) or heading(s)"
        )


def answered(state: JobState) -> list[Answered]:
    """Every planned question with its kept claims (none for a question not answered)."""
    cap = state.deps.limits.claims_per_question
    by_question = {r.question: r.claims[:cap] for r in state.results}
    return [
        Answered(q, claims, answered=bool(claims))
        for q in state.questions
        for claims in [by_question.get(q, [])]
    ]


def claimed_sources(state: JobState) -> list[tuple[int, Source]]:
    """The sources the writer may cite: those of kept claims and the company's pages (a small
    model otherwise cites titles in the list that no verified claim comes from)."""
    claimed = state.claimed_sources
    return [(n, s) for n, s in state.registry.numbered() if n in claimed or s.company]


async def write_report(state: JobState) -> AsyncIterator[Event]:
    yield MultiagentStep(
        step=WRITE, message="Writing the deep research report...", session_id=state.sid
    )
    limits = state.deps.limits
    notes = [(q, prompts.clip(n, limits.notes_chars)) for q, n in state.notes]
    composed = report_sections(answered(state), sources=len(state.claimed_sources))
    request = prompts.report_request(
        topic=state.topic,
        company=state.company,
        notes=notes,
        sources=claimed_sources(state),
        language=state.request.language,
        max_tokens=state.profile.report_tokens // 6,
    )
    header = (
        f"# Deep Research Report: {_md_line(state.topic)}\n\n"
        f"*Prepared for {_md_line(state.company)}*\n\n"
    )
    parts: list[str] = []
    async for event in _stream_report(
        state, WRITE, Role.WRITER, request, header, title=report_title(state), parts=parts,
        method=method_note(state), composed=composed,
    ):  # fmt: skip
        yield event
    state.report_md = "".join(parts)
    prerender(state, "deep_research_pdf", state.report_md, report_title(state))
    yield MultiagentProgress(
        step=WRITE, session_id=state.sid, progress_percent=70,
        message=f"Report written ({len(state.report_md)} characters)",
    )  # fmt: skip


async def discover(state: JobState) -> AsyncIterator[Event]:
    yield MultiagentStep(
        step=ANALYSIS,
        message=f"Analysing where AI fits {state.company}...",
        session_id=state.sid,
    )
    pages = [(n, s) for n, s in state.registry.numbered() if s.company]
    context, quoted = company_context(state.company, state.topic, pages, state.claims)
    state.claims.extend(c for c in quoted if c not in state.claims)
    composed = [*context, *risk_section(state.claims, exclude=quoted)]
    request = prompts.discovery_request(
        topic=state.topic,
        company=state.company,
        notes=prompts.clip(
            "\n".join(cited(c) for c in state.claims), state.deps.limits.report_chars_for_analysis
        ),
        company_profile=state.company_profile,
        language=state.request.language,
        max_tokens=state.profile.discovery_tokens // 3,
    )
    header = f"# AI Discovery Report: {_md_line(state.company)}\n\n"
    if not state.company_profile:
        header += (
            f"*The website of {_md_line(state.company)} could not be read: this report speaks "
            "of the sector, not of the company's own situation.*\n\n"
        )
    parts: list[str] = []
    async for event in _stream_report(
        state, ANALYSIS, Role.ANALYST, request, header, title=discovery_title(state), parts=parts,
        composed=composed,
    ):  # fmt: skip
        yield event
    state.discovery_md = "".join(parts)
    prerender(state, "AI_discovery_pdf", state.discovery_md, discovery_title(state))
    yield MultiagentProgress(
        step=ANALYSIS, session_id=state.sid, progress_percent=82,
        message=f"AI discovery report written ({len(state.discovery_md)} characters)",
    )  # fmt: skip


# The model's prose in a use case: each passes the company rule (the title is a name, not a
# statement; `evidence`, `cost`, `risk` and `fit` are ratings).
USE_CASE_PROSE = ("description", "business_value", "implementation", "estimated_roi", "roi_basis")


def without_unsourced_company_facts(item: dict[str, Any], rule: CompanyRule) -> dict[str, Any]:
    """The use case with every sentence of its prose that names the company without citing a
    company source removed (as the report guard does in the reports)."""
    return {
        k: rule.filter(v) if k in USE_CASE_PROSE and isinstance(v, str) else v
        for k, v in item.items()
    }


def validate_use_cases(
    structured: Any, *, limit: int, rubric: RubricContext, rule: CompanyRule | None = None
) -> tuple[list[UseCase], list[str], dict[str, str]]:
    """Valid use cases (ids uc_1..) scored by the rubric, what was wrong with the rest, and
    the one-line scoring justification per use case id. With `rule`, sentences that state
    something about the company no source said are removed first; a use case left with an
    empty field is not valid."""
    raw = structured.get("use_cases") if isinstance(structured, dict) else None
    if not isinstance(raw, list):
        return [], ['the answer must be an object with a "use_cases" list'], {}
    if not raw:
        return [], ["the answer lists no use case"], {}
    valid: list[UseCase] = []
    problems: list[str] = []
    lines: dict[str, str] = {}
    for i, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            problems.append(f"use case {i} is not an object")
            continue
        before = rule.dropped if rule is not None else 0
        if rule is not None:
            item = without_unsourced_company_facts(item, rule)
        fields = {k: item.get(k) for k in prompts.USE_CASE_FIELDS if k != "estimated_roi"}
        for key, value in fields.items():
            if isinstance(value, str):
                fields[key] = value.strip()
        empty = [k for k, v in fields.items() if isinstance(v, str) and not v]
        if empty and rule is not None and rule.dropped > before:
            problems.append(
                f"use case {i}: {', '.join(empty)} only stated facts about the company that "
                "no source gives (name the company only with a citation of its website)"
            )
            continue
        if empty:
            problems.append(f"use case {i}: empty {', '.join(empty)}")
            continue
        scored = score(item, rubric)
        uc_id = f"uc_{len(valid) + 1}"
        try:
            uc = UseCase(
                id=uc_id, impact_score=scored.impact, alignment_score=scored.alignment,
                estimated_roi=scored.roi, **fields,
            )  # fmt: skip
        except ValidationError as exc:
            where = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
            problems.append(f"use case {i}: {where}")
            continue
        if any(uc.title.lower() == v.title.lower() for v in valid):
            problems.append(f"use case {i} repeats the title {uc.title!r}")
            continue
        valid.append(uc)
        lines[uc_id] = scored.line
        if len(valid) >= limit:
            break
    return valid, problems, lines


def rubric_context(state: JobState) -> RubricContext:
    pages = [(n, s) for n, s in state.registry.numbered() if s.company]
    return RubricContext(
        claims=[(c.source, c.text) for c in state.claims],
        company_pages={n for n, _ in pages},
        company_text="\n".join(s.text for _, s in pages),
        topic=state.topic,
        company=state.company,
    )


async def _ask(state: JobState, request: CompletionRequest, out: list[Any]) -> AsyncIterator[Event]:
    call = LLMCall(state, USE_CASES, state.llm(Role.ANALYST), request)
    try:
        async for event in call.events():
            if isinstance(event, Event):
                yield event
    except LLMStructuredOutputError as exc:
        out.extend([None, exc.raw])
        return
    assert call.result is not None
    out.extend([call.result.structured, call.result.text])


async def find_use_cases(state: JobState) -> AsyncIterator[Event]:
    yield MultiagentStep(
        step=USE_CASES, message="Identifying and scoring AI use cases...", session_id=state.sid
    )
    count = state.profile.use_cases
    request = prompts.use_cases_request(
        topic=state.topic,
        company=state.company,
        discovery=prompts.clip(state.discovery_md, state.deps.limits.report_chars_for_analysis),
        company_profile=state.company_profile,
        count=count,
        language=state.request.language,
    )
    answer: list[Any] = []
    async for event in _ask(state, request, answer):
        yield event
    rubric = rubric_context(state)
    allowed = company_sources(state.claims, state.registry.numbered(), state.company)
    rule = CompanyRule(state.company, allowed, proposals=True)
    valid, problems, lines = validate_use_cases(answer[0], limit=count, rubric=rubric, rule=rule)
    if problems and len(valid) >= min(MIN_USE_CASES, count):
        yield state.status(f"Dropped {len(problems)} invalid use case(s): {problems[0]}")
    elif len(valid) < min(MIN_USE_CASES, count):
        yield state.status(
            f"Only {len(valid)} valid use case(s) ({'; '.join(problems[:3]) or 'none given'}); "
            "asking the model to repair its answer"
        )
        repaired: list[Any] = []
        async for event in _ask(
            state, prompts.use_cases_repair_request(request, answer[1], problems), repaired
        ):
            yield event
        rule_again = CompanyRule(state.company, allowed, proposals=True)
        again, problems, again_lines = validate_use_cases(
            repaired[0], limit=count, rubric=rubric, rule=rule_again
        )
        if len(again) > len(valid):
            valid, lines, rule = again, again_lines, rule_again
    if not valid:
        why = "; ".join(problems[:3])
        raise StepFailed(
            USE_CASES, f"the model gave no valid use case, even when asked again ({why})"
        )
    if rule.dropped:
        yield state.status(
            f"{USE_CASES}: dropped {rule.dropped} sentence(s) about the company without a "
            "company source"
        )
    state.use_cases = valid
    state.use_case_scoring = lines
    yield MultiagentProgress(
        step=USE_CASES, session_id=state.sid, progress_percent=90,
        message=f"{len(valid)} use cases identified",
    )  # fmt: skip
