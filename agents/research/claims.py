"""Claims first: what a researcher may assert, and the checks a claim must pass to be kept.

Claims are **extractive**: the sources shown to the researcher are split into sentences, each
labelled with an id (`2.3` = source 2, sentence 3; `number_sentences`), and the researcher
answers with structured output (`selection_schema`, grammar-constrained on the local model:
the ids are an enum, so it can only name sentences that exist) — the ids of the sentences that
answer the question, and the questions it could not answer yet (follow-up searches). Each
selected sentence becomes a claim whose text and quote are that sentence (`selected_claims`),
so the quote check passes by construction and a small model cannot paraphrase a fact into
something its source did not say. The older shape (`CLAIMS_SCHEMA`: claim, source, quote in
the model's words) is still checked the same way (`check_claims`). A claim is kept only
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
from collections.abc import Mapping, Sequence, Set
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


_ID_TOKENS = 5  # one sentence id ("12.3") with its quotes and comma


def selection_token_budget(max_claims: int) -> int:
    """max_tokens that always holds a selection of `max_claims` ids and the "missing" list."""
    return _TOKENS_FIXED + _ID_TOKENS * max_claims


_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u201d)\]]*\s+(?=[\"'\u201c(\[]?[A-Z0-9])")
MIN_SENTENCE_CHARS = 30
MAX_SENTENCE_CHARS = 400
MAX_SENTENCES_PER_SOURCE = 14


def _lines_to_blocks(text: str) -> list[str]:
    """Paragraphs of `text`: blank lines, list items and headings separate them, and so does a
    short line without end punctuation before a capitalised one (a title over its text);
    other line breaks are wrapping."""
    blocks: list[list[str]] = [[]]
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped == "…" or re.match(r"(?:[-*+]|\d+[.)]|#+)\s", stripped):
            blocks.append([])
            if not stripped or stripped == "…" or stripped.startswith("#"):
                continue
        prev = blocks[-1][-1] if blocks[-1] else ""
        if prev and len(prev) < 90 and prev[-1] not in ".!?:;,-" and stripped[0].isupper():
            blocks.append([])
        blocks[-1].append(stripped)
    return [" ".join(b) for b in blocks if b]


def source_sentences(text: str) -> list[str]:
    """The sentences of a source excerpt worth citing: no headings, list markers or emphasis
    marks, 30-400 characters, at least five words, ending like a sentence."""
    out: list[str] = []
    for block in _lines_to_blocks(text):
        flat = _MARKUP.sub("", re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", block))
        flat = " ".join(flat.split())
        for sentence in _SENTENCE_END.split(flat):
            sentence = sentence.strip(" …")
            if (
                MIN_SENTENCE_CHARS <= len(sentence) <= MAX_SENTENCE_CHARS
                and len(sentence.split()) >= 5
                and sentence[-1] in ".!?\"'\u201d)"
            ):
                out.append(sentence)
    return out


def number_sentences(
    excerpts: Sequence[tuple[int, str]], *, skip: Set[str] = frozenset()
) -> tuple[dict[str, tuple[int, str]], dict[int, list[tuple[str, str]]]]:
    """Ids for the sentences of each (source number, excerpt): `{id: (n, sentence)}` and, per
    source, its `(id, sentence)` list in order (what the prompt shows). Sentences whose
    normalised text is in `skip` (already kept in the job) are not offered again, so a later
    round or question has to pick new ones."""
    ids: dict[str, tuple[int, str]] = {}
    per_source: dict[int, list[tuple[str, str]]] = {}
    for n, excerpt in excerpts:
        listed = per_source.setdefault(n, [])
        fresh = [s for s in source_sentences(excerpt) if normalize(s) not in skip]
        for k, sentence in enumerate(fresh[:MAX_SENTENCES_PER_SOURCE], 1):
            sid = f"{n}.{k}"
            ids[sid] = (n, sentence)
            listed.append((sid, sentence))
    return ids, per_source


def selection_schema(ids: Sequence[str], max_claims: int) -> dict[str, Any]:
    """The researcher's answer: ids of sentences shown (an enum), and follow-up queries."""
    item: dict[str, Any] = {"type": "string", "enum": list(ids)} if ids else {"type": "string"}
    return {
        "type": "object",
        "properties": {
            "facts": {
                "type": "array",
                "minItems": min(MIN_CLAIMS, max_claims, len(ids)),
                "maxItems": max_claims if ids else 0,
                "items": {**item, "maxLength": 12},
            },
            "missing": {
                "type": "array",
                "maxItems": MISSING_MAX,
                "items": {"type": "string", "maxLength": MISSING_MAX_CHARS},
            },
        },
        "required": ["facts", "missing"],
        "additionalProperties": False,
    }


def selected_claims(structured: Any, ids: Mapping[str, tuple[int, str]]) -> Any:
    """A selection answer (`facts` ids) as the claims shape `check_claims` reads: each id's
    sentence is both the claim and its quote. Unknown ids become claims citing no source."""
    if not isinstance(structured, dict) or "facts" not in structured:
        return structured
    facts = structured.get("facts")
    claims: list[dict[str, Any]] = []
    for sid in facts if isinstance(facts, list) else []:
        found = ids.get(sid.strip()) if isinstance(sid, str) else None
        if found is None:
            claims.append({"claim": str(sid), "source": None, "quote": ""})
        else:
            n, sentence = found
            claims.append({"claim": sentence, "source": n, "quote": sentence})
    return {"claims": claims, "missing": structured.get("missing")}


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
