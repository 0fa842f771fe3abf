"""Every prompt of the research pipeline, as pure functions returning `CompletionRequest`s.

The local default model is small, so prompts are short, concrete and ask for one thing each.
Structured answers are requested with a JSON schema (`json_schema`), never parsed from prose.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from typing import Any

from agents.llm.port import CompletionRequest, Message
from agents.research.claims import (
    claims_per_round,
    number_sentences,
    selection_schema,
    selection_token_budget,
)
from agents.research.excerpts import relevant_excerpt
from agents.research.rubric import RUBRIC_PROPERTIES, RUBRIC_TEXT
from agents.sources.base import Source

LANGUAGES = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian",
    "pt": "Portuguese", "nl": "Dutch", "sv": "Swedish", "da": "Danish", "no": "Norwegian",
    "fi": "Finnish", "pl": "Polish", "cs": "Czech", "tr": "Turkish", "ru": "Russian",
    "uk": "Ukrainian", "ar": "Arabic", "he": "Hebrew", "hi": "Hindi", "ja": "Japanese",
    "ko": "Korean", "zh": "Chinese", "id": "Indonesian", "vi": "Vietnamese", "th": "Thai",
}  # fmt: skip

# Every structured answer is bounded (maxItems, maxLength) so that a grammar-constrained small
# model finishes inside max_tokens; max_tokens is sized from the same bounds.
QUESTION_MAX_CHARS = 160
USE_CASE_FIELDS = (
    "title", "description", "business_value", "implementation", "estimated_roi",
)  # fmt: skip
USE_CASE_MAX_CHARS = {
    "title": 80, "description": 240, "business_value": 160, "implementation": 200,
    "estimated_roi": 60, "roi_basis": 120,
}  # fmt: skip
USE_CASE_MAX_EVIDENCE = 4
_NEEDED = frozenset({"title", "description", "business_value", "implementation"})
_TOKENS_PER_USE_CASE = 330  # worst case of one bounded use case (~3.5 characters per token)


def plan_schema(count: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "questions": {
                "type": "array",
                "maxItems": count,
                "items": {"type": "string", "maxLength": QUESTION_MAX_CHARS},
            },
        },
        "required": ["questions"],
        "additionalProperties": False,
    }


def use_cases_schema(count: int) -> dict[str, Any]:
    # The fields a use case needs (validate_use_cases) may not be empty: under a grammar the
    # small model cannot write "" for them.
    bounded = {
        name: {"type": "string", "maxLength": n} | ({"minLength": 1} if name in _NEEDED else {})
        for name, n in USE_CASE_MAX_CHARS.items()
    }
    rubric = {**RUBRIC_PROPERTIES, "roi_basis": bounded.pop("roi_basis")}
    rubric["evidence"] = {**RUBRIC_PROPERTIES["evidence"], "maxItems": USE_CASE_MAX_EVIDENCE}
    return {
        "type": "object",
        "properties": {
            "use_cases": {
                "type": "array",
                "minItems": min(3, count),
                "maxItems": count,
                "items": {
                    "type": "object",
                    "properties": {**bounded, **rubric},
                    "required": [*USE_CASE_FIELDS, *RUBRIC_PROPERTIES],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["use_cases"],
        "additionalProperties": False,
    }


PLAN_SCHEMA: dict[str, Any] = plan_schema(8)
USE_CASES_SCHEMA: dict[str, Any] = use_cases_schema(8)


def language_name(code: str) -> str:
    base = code.split("-")[0].lower()
    return LANGUAGES.get(base, code)


def _language_line(language: str) -> str:
    return f"Write in {language_name(language)}."


def clip(text: str, max_chars: int) -> str:
    """`text` cut to at most `max_chars` at a word boundary, marked with an ellipsis."""
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars].rsplit(" ", 1)[0]
    return cut + " …"


def plan_request(topic: str, company: str, count: int) -> CompletionRequest:
    system = (
        "You plan research. Break the topic into clear research questions. "
        "Each question must be one sentence and answerable from documents or the web."
    )
    user = (
        f"Topic: {topic}\nCompany: {company}\n\n"
        f"Write {count} research questions about this topic that matter to this company. "
        "Cover the market, competitors, technology, regulation and risks. Ask about the sector "
        "and the topic, not about the company itself: documents and the web rarely speak of "
        "one company, so do not put its name in the questions. "
        'Answer as JSON: {"questions": ["...", "..."]}'
    )
    return CompletionRequest(
        system=system,
        messages=[Message("user", user)],
        max_tokens=60 + 50 * count,
        temperature=0.3,
        json_schema=plan_schema(count),
        schema_name="research_plan",
    )


def default_questions(topic: str, company: str) -> list[str]:
    """Questions used to fill a plan the model left short (always at least three)."""
    return [
        f"What is the current state and size of the market for {topic}?",
        f"Which companies and technologies lead in {topic}, and how do they compete?",
        f"What regulation, risks and barriers affect {topic}?",
        f"What opportunities does {topic} create for a company like {company}?",
        f"What trends will shape {topic} over the next three years?",
    ]


def format_sources(numbered: Sequence[tuple[int, Source]], *, excerpt_chars: int) -> str:
    blocks = []
    for n, src in numbered:
        where = f" ({src.url})" if src.url else ""
        blocks.append(f"[{n}] {src.title}{where}\n{clip(src.text, excerpt_chars)}")
    return "\n\n".join(blocks)


def research_request(
    question: str,
    *,
    topic: str,
    company: str,
    sources: Sequence[tuple[int, Source]],
    excerpt_chars: int,
    max_tokens: int,
) -> CompletionRequest:
    system = (
        "You are a research analyst. Answer the question using only the numbered sources. "
        "After each fact, cite its source number in square brackets, like [2]. "
        "Do not invent sources or numbers. If the sources do not answer, say so."
    )
    if sources:
        body = format_sources(sources, excerpt_chars=excerpt_chars)
    else:
        body = "(no sources were found)"
    user = (
        f"Topic: {topic}\nCompany: {company}\nQuestion: {question}\n\n"
        f"Sources:\n{body}\n\n"
        "Write short research notes (bullet points) that answer the question, with citations."
    )
    return CompletionRequest(
        system=system, messages=[Message("user", user)], max_tokens=max_tokens, temperature=0.2
    )


def claims_sources(
    numbered: Sequence[tuple[int, Source]],
    query: str,
    *,
    excerpt_chars: int,
    skip: Set[str] = frozenset(),
) -> tuple[str, dict[str, tuple[int, str]]]:
    """The sources as the researcher sees them: title, URL, whether it is the company's own
    site, then the excerpt's sentences, each with its id (see claims.number_sentences)."""
    excerpts = [
        (n, relevant_excerpt(src.text, query, max_chars=excerpt_chars)) for n, src in numbered
    ]
    ids, per_source = number_sentences(excerpts, skip=skip)
    blocks = []
    for n, src in numbered:
        where = f" ({src.url})" if src.url else ""
        mark = " [company website]" if src.company else ""
        lines = "\n".join(f"({sid}) {sentence}" for sid, sentence in per_source.get(n, []))
        if not lines:  # nothing citable (a short snippet): shown as context only
            lines = f"(context, no sentence to cite) {clip(src.text, 300)}"
        blocks.append(f"[{n}] {src.title}{where}{mark}\n{lines}")
    return "\n\n".join(blocks), ids


def claims_request(
    question: str,
    *,
    topic: str,
    company: str,
    sources: Sequence[tuple[int, Source]],
    known: Sequence[str],
    excerpt_chars: int,
    max_tokens: int,
    skip: Set[str] = frozenset(),
) -> tuple[CompletionRequest, dict[str, tuple[int, str]]]:
    """Ask for the ids of the sentences that answer the question (extractive claims) and for
    what is still unknown; returns the request and the ids it offers. The schema's enum holds
    exactly those ids, and max_tokens is sized from its bounds."""
    n = claims_per_round(max_tokens)
    body, ids = claims_sources(sources, question, excerpt_chars=excerpt_chars, skip=skip)
    system = (
        f"You are a research analyst. Pick {min(2, n)} to {n} facts: the ids of the source "
        "sentences, like 2.3, that best answer the question, most useful first. Pick only "
        "sentences that state a fact about the question; skip sentences about the company "
        "unless they come from its website. Then list under missing up to 3 short web search "
        "queries for what the sources did not answer. Answer only with JSON."
    )
    known_text = "\n".join(f"- {k}" for k in known) or "(nothing yet)"
    user = (
        f"Topic: {topic}\nCompany: {company}\nQuestion: {question}\n\n"
        f"Already known:\n{known_text}\n\n"
        f"Sources:\n{body if sources else '(no sources were found)'}\n\n"
        'Answer as JSON: {"facts": ["1.2", "3.1"], "missing": ["..."]}'
    )
    request = CompletionRequest(
        system=system,
        messages=[Message("user", user)],
        max_tokens=selection_token_budget(n),
        temperature=0.1,
        json_schema=selection_schema(list(ids), n),
        schema_name="research_claims",
    )
    return request, ids


def report_request(
    *,
    topic: str,
    company: str,
    notes: Sequence[tuple[str, str]],
    sources: Sequence[tuple[int, Source]],
    language: str,
    max_tokens: int,
) -> CompletionRequest:
    """The model writes only the Recommendations: the factual sections are composed from the
    verified claims by the pipeline (compose.py)."""
    system = (
        "You are a senior analyst. Write recommendations in Markdown for a firm in this "
        "sector, based only on the verified claims. Write 3 to 5 bullet points, one sentence "
        "each. End a bullet with the number of the claim it rests on, like [3]. Do not name "
        "the company. Do not write headings. Do not repeat the claims. " + _language_line(language)
    )
    note_text = "\n\n".join(f"### {q}\n{n}" for q, n in notes)
    source_list = "\n".join(f"[{n}] {s.title}" for n, s in sources) or "(none)"
    user = (
        f"Topic: {topic}\n\n"
        f"Research notes (verified claims):\n{note_text}\n\nSource list:\n{source_list}\n\n"
        "Write the recommendations now (bullet points only)."
    )
    return CompletionRequest(
        system=system, messages=[Message("user", user)], max_tokens=max_tokens, temperature=0.3
    )


def discovery_request(
    *,
    topic: str,
    company: str,
    notes: str,
    company_profile: str,
    language: str,
    max_tokens: int,
) -> CompletionRequest:
    """The model writes only AI Opportunities and Roadmap (proposals): Company Context and
    Readiness and Risks are composed from the company's pages and the claims (compose.py)."""
    system = (
        "You are an AI strategy consultant. Using the verified claims, propose where AI can "
        "help a firm in this sector. End a sentence that rests on a claim with its number, "
        "like [2]; never invent numbers. Do not state facts about the company; do not name it "
        "unless you cite its website. Do not repeat yourself. " + _language_line(language)
    )
    profile = (
        f"About the company (from its website):\n{company_profile}\n\n"
        if company_profile
        else "The company's website could not be read: speak of the sector only.\n\n"
    )
    user = (
        f"Topic: {topic}\n\n{profile}Verified claims:\n{notes or '(none)'}\n\n"
        "Write exactly these two Markdown sections, 3 bullet points each:\n"
        "## AI Opportunities\n## Roadmap\n"
        "Do not write a title or other sections."
    )
    return CompletionRequest(
        system=system, messages=[Message("user", user)], max_tokens=max_tokens, temperature=0.3
    )


def use_cases_request(
    *, topic: str, company: str, discovery: str, count: int, language: str,
    company_profile: str = "",
) -> CompletionRequest:  # fmt: skip
    system = (
        "You identify practical AI use cases for a company. Answer only with JSON. "
        "Base every use case on the report; rate it with the rubric, honestly and differently "
        "for different use cases. " + _language_line(language)
    )
    profile = (
        f"About the company (from its website, cite as [n]):\n{company_profile}\n\n"
        if company_profile
        else "The company's website could not be read: judge fit from the sector only.\n\n"
    )
    user = (
        f"Company: {company}\nTopic: {topic}\n\n{profile}AI discovery report:\n{discovery}\n\n"
        f"List {count} AI use cases for {company}. For each give: title, description, "
        "business_value, implementation, estimated_roi (empty if you cannot estimate it), "
        "roi_basis (the cited facts the estimate rests on, or empty), evidence (the citation "
        "numbers from the report that back the use case), cost, risk (low, medium or high) "
        "and fit (strong, partial or weak fit with what the sources say about the company).\n"
        f"Describe what each use case does; a sentence that names {company} must cite its "
        "website [n] (sentences stating unsourced facts about the company are removed).\n"
        f"{RUBRIC_TEXT}\n"
        'Answer as JSON: {"use_cases": [{"title": "...", ...}]}'
    )
    return CompletionRequest(
        system=system,
        messages=[Message("user", user)],
        max_tokens=_TOKENS_PER_USE_CASE * count + 60,
        temperature=0.3,
        json_schema=use_cases_schema(count),
        schema_name="use_cases",
    )


def use_cases_repair_request(
    original: CompletionRequest, previous: str, problems: Sequence[str]
) -> CompletionRequest:
    """Ask again once, showing the model what was wrong with its answer."""
    listed = "\n".join(f"- {p}" for p in problems[:10])
    fix = (
        f"Your answer had problems:\n{listed}\n\n"
        "Answer again with valid JSON only. Every use case needs title, description, "
        "business_value, implementation, estimated_roi, roi_basis, evidence, cost, risk and "
        "fit; cost and risk are low, medium or high, fit is strong, partial or weak."
    )
    return CompletionRequest(
        system=original.system,
        messages=[
            *original.messages,
            Message("assistant", previous or "(no answer)"),
            Message("user", fix),
        ],
        max_tokens=original.max_tokens,
        temperature=0.1,
        json_schema=original.json_schema,
        schema_name=original.schema_name,
    )
