"""Claims first: what a researcher may assert, and the checks a claim must pass to be kept.

A researcher answers with structured output (`CLAIMS_SCHEMA`, grammar-constrained on the local
model): claims, each with the number of the source it comes from and a quote copied from that
source, and the questions it could not answer yet (follow-up searches). A claim is kept only
when
- its source number names a source shown to the researcher,
- its quote (at least `MIN_QUOTE_CHARS`) is found in that source's text, exactly or as a close
  match (rapidfuzz partial ratio ≥ `MATCH_THRESHOLD` after normalising case, spaces, quotes),
- it is relevant: claim and quote share a content word with the question and one with the
  topic,
- a claim naming the company comes from the company's own page or a quote that names it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from agents.sources.base import Source
from agents.sources.bm25 import tokenize

MIN_QUOTE_CHARS = 20
MATCH_THRESHOLD = 90.0
MAX_CLAIM_CHARS = 600

# The schema is bounded (items and string lengths) so that a grammar-constrained small model
# cannot run into max_tokens mid-answer: `claims_schema(max_claims)` for the round's budget.
CLAIM_MAX_CHARS = 160  # the claim, in the model's words
QUOTE_MAX_CHARS = 200  # a quote cut here is still a prefix of the source's sentence
MISSING_MAX = 3
MISSING_MAX_CHARS = 100
MIN_CLAIMS = 2  # asked of the researcher; claims that fail the checks are still dropped
MAX_CLAIMS = 6
_TOKENS_PER_CLAIM = 120  # worst case of one bounded claim object (~3.5 characters per token)
_TOKENS_FIXED = 110  # the "missing" list and the JSON around the claims


def claims_per_round(max_tokens: int) -> int:
    """How many claims fit in `max_tokens` at their bounded worst case (2..6)."""
    fit = (max_tokens - _TOKENS_FIXED) // _TOKENS_PER_CLAIM
    return max(MIN_CLAIMS, min(MAX_CLAIMS, fit))


def claims_token_budget(max_claims: int) -> int:
    """max_tokens that always holds an answer of `max_claims` bounded claims."""
    return _TOKENS_FIXED + _TOKENS_PER_CLAIM * max_claims


def claims_schema(max_claims: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "claims": {
                "type": "array",
                "minItems": min(MIN_CLAIMS, max_claims),
                "maxItems": max_claims,
                "items": {
                    "type": "object",
                    "properties": {
                        "claim": {"type": "string", "maxLength": CLAIM_MAX_CHARS},
                        "source": {"type": "integer"},
                        "quote": {"type": "string", "maxLength": QUOTE_MAX_CHARS},
                    },
                    "required": ["claim", "source", "quote"],
                    "additionalProperties": False,
                },
            },
            "missing": {
                "type": "array",
                "maxItems": MISSING_MAX,
                "items": {"type": "string", "maxLength": MISSING_MAX_CHARS},
            },
        },
        "required": ["claims", "missing"],
        "additionalProperties": False,
    }


CLAIMS_SCHEMA: dict[str, Any] = claims_schema(MAX_CLAIMS)

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                         "\u2013": "-", "\u2014": "-", "\u00a0": " "})  # fmt: skip
_SPACE = re.compile(r"\s+")
_MARKUP = re.compile(r"[*_`#]+")  # Markdown emphasis and headings: not part of what a page says
# Words too common in this product's questions to make a claim relevant on their own.
_GENERIC = frozenset(
    tokenize("ai artificial intelligence company companies business use used using new also")
)


@dataclass(frozen=True)
class Claim:
    text: str
    source: int
    quote: str
    question: str


@dataclass
class ClaimCheck:
    kept: list[Claim] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (claim, reason)
    followups: list[str] = field(default_factory=list)


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).lower()
    text = _MARKUP.sub("", text)
    text = text.replace("\u2026", "...").strip(" \"'.…")
    return _SPACE.sub(" ", text)


def quote_found(quote: str, text: str) -> bool:
    """`quote` appears in `text`, exactly or as a close match (see module docstring)."""
    q = normalize(quote)
    if len(q) < MIN_QUOTE_CHARS:
        return False
    body = normalize(text)
    if q in body:
        return True
    return fuzz.partial_ratio(q, body, score_cutoff=MATCH_THRESHOLD) >= MATCH_THRESHOLD


def relevant(claim: str, quote: str, *, question: str, topic: str) -> bool:
    """Claim and quote share a content word with the question and one with the topic (the
    same word may do both): on the question, and about the research topic."""
    said = set(tokenize(f"{claim} {quote}"))
    on_question = (set(tokenize(question)) - _GENERIC) & said
    on_topic = (set(tokenize(topic)) - _GENERIC) & said
    return bool(on_question) and bool(on_topic)


def names_company(text: str, company: str) -> bool:
    name = normalize(company)
    return len(name) >= 2 and name in normalize(text)


def check_claims(
    structured: Any,
    *,
    sources: Mapping[int, Source],
    question: str,
    topic: str,
    company: str,
) -> ClaimCheck:
    """The kept claims, the dropped ones with the reason, and the follow-up questions."""
    out = ClaimCheck()
    if not isinstance(structured, dict):
        return out
    raw_claims = structured.get("claims")
    for item in raw_claims if isinstance(raw_claims, list) else []:
        if not isinstance(item, dict):
            continue
        text = " ".join(str(item.get("claim") or "").split())[:MAX_CLAIM_CHARS]
        quote = " ".join(str(item.get("quote") or "").split())
        number = item.get("source")
        if not text:
            continue
        source = sources.get(number) if isinstance(number, int) else None
        reason = _problem(text, quote, source, question=question, topic=topic, company=company)
        if reason is not None:
            out.dropped.append((text, reason))
        elif (
            source is not None
            and isinstance(number, int)
            and all(normalize(c.text) != normalize(text) for c in out.kept)
        ):
            out.kept.append(Claim(text, number, quote, question))
    missing = structured.get("missing")
    for q in missing if isinstance(missing, list) else []:
        if isinstance(q, str) and 8 <= len(q.strip()) <= 300:
            out.followups.append(" ".join(q.split()))
    return out


def _problem(
    text: str, quote: str, source: Source | None, *, question: str, topic: str, company: str
) -> str | None:
    if source is None:
        return "cites no source that was shown"
    if not quote_found(quote, source.text):
        return "quote not found in the cited source"
    if not relevant(text, quote, question=question, topic=topic):
        return "not relevant to the question"
    if names_company(text, company) and not (source.company or names_company(quote, company)):
        return "a statement about the company without a company source"
    return None


def claims_notes(claims: Sequence[Claim]) -> str:
    """The writer's view of one question's kept claims: one cited line each."""
    if not claims:
        return "No source gathered for this job answered this question."
    return "\n".join(f"- {c.text} [{c.source}]" for c in claims)
