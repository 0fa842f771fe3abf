"""Reports composed from kept claims: the factual sections are built by the pipeline, not by
the model, so every factual sentence carries its `[n]` whatever the model's size.

Each kept claim is a sentence of its source (claims are extractive, see claims.py), rendered
verbatim with its source number. The deep research report's Executive Summary takes the first
claim of each answered question; Market Analysis and Key Findings give each question's other
claims under the question (market-like questions in Market Analysis); a question no kept claim
answers says so instead of padding. The AI discovery report's Company Context comes only from
the company's own pages (or says they could not be read), Readiness and Risks from claims that
speak of risks and barriers. The model writes only the advisory sections (recommendations,
opportunities, roadmap), which pass the report guard (no company statement without a company
source, no repeats).

A segment is `(text, checked)`: checked text goes through the citation filter and the guard
like the model's; unchecked text is an italic meta line (what was found, what could not be
read), which is not a finding.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agents.research.claims import Claim, names_company, normalize, source_sentences
from agents.sources.base import Source
from agents.sources.bm25 import tokenize

Segment = tuple[str, bool]

NOTHING_FOUND = "*Nothing relevant to this question was found in the sources gathered.*"
_MARKET = re.compile(
    r"\b(market|compet|vendor|leader|player|invest|spend|pric|adoption|growth)", re.I
)
_RISK = re.compile(
    r"\b(risk|regulat|barrier|challeng|privacy|complian|security|skill|shortage|bias|"
    r"liabilit|cost|difficult|limit|concern|fail|obstacle|readiness|data quality)",
    re.I,
)
SUMMARY_CLAIMS = 4
SECTION_CLAIMS = 4
CONTEXT_SENTENCES = 4


def cited(claim: Claim) -> str:
    """The claim's sentence with its source number before the final punctuation."""
    text = " ".join(claim.text.split()).rstrip()
    end = text[-1] if text and text[-1] in ".!?" else "."
    body = text[:-1] if text and text[-1] in ".!?" else text
    return f"{body} [{claim.source}]{end}"


def _paragraph(claims: Sequence[Claim]) -> str:
    return " ".join(cited(c) for c in claims)


def _md(text: str) -> str:
    return " ".join(text.replace("#", "").split())


@dataclass(frozen=True)
class Answered:
    question: str
    claims: Sequence[Claim]
    answered: bool = True  # False: no kept claim at all (not only repeats of other questions)


def _distinct(answers: Sequence[Answered]) -> list[Answered]:
    """Each question with only the claims no earlier question already has (the same sentence
    often answers two questions; it is given once)."""
    seen: set[str] = set()
    out: list[Answered] = []
    for a in answers:
        mine = []
        for c in a.claims:
            if normalize(c.text) not in seen:
                seen.add(normalize(c.text))
                mine.append(c)
        out.append(Answered(a.question, mine, answered=bool(a.claims)))
    return out


def report_sections(answers: Sequence[Answered], *, sources: int) -> list[Segment]:
    """Executive Summary, Market Analysis and Key Findings of the deep research report, and
    the Recommendations heading (the model writes what follows it)."""
    answers = _distinct(answers)
    kept = [c for a in answers for c in a.claims]
    answered = sum(1 for a in answers if a.answered)
    out: list[Segment] = [("## Executive Summary\n\n", True)]
    out.append(
        (
            f"*{len(kept)} verified claims from {sources} source(s) answer {answered} of the "
            f"{len(answers)} research questions; each quote is in citations.json.*\n\n",
            False,
        )
    )
    lead = [a.claims[0] for a in answers if a.claims][:SUMMARY_CLAIMS]
    if lead:
        out.append((_paragraph(lead) + "\n\n", True))
    else:
        out.append(("*No source gathered for this job answered the research questions.*\n\n",
                    False))  # fmt: skip
    market = [a for a in answers if _MARKET.search(a.question)]
    if not market and answers:
        market = [answers[0]]
    others = [a for a in answers if a not in market]
    used = {id(c) for c in lead}
    for heading, group in (("Market Analysis", market), ("Key Findings", others)):
        out.append((f"## {heading}\n\n", True))
        if not group:
            out.append(("*The research questions of this section are covered above.*\n\n", False))
        for a in group:
            out.append((f"### {_md(a.question)}\n\n", True))
            rest = [c for c in a.claims if id(c) not in used][:SECTION_CLAIMS]
            if rest:
                out.append((_paragraph(rest) + "\n\n", True))
            elif a.claims:
                out.append(("*Its main finding is in the Executive Summary.*\n\n", False))
            elif a.answered:
                out.append(("*What the sources say on it is given under another question.*\n\n",
                            False))  # fmt: skip
            else:
                out.append((NOTHING_FOUND + "\n\n", False))
    out.append(("## Recommendations\n\n", True))
    return out


def company_sources(
    claims: Sequence[Claim], numbered: Sequence[tuple[int, Source]], company: str
) -> set[int]:
    """Sources allowed to speak of the company: its own pages, and sources whose kept quote
    names it."""
    allowed = {n for n, s in numbered if s.company}
    allowed |= {c.source for c in claims if names_company(c.quote, company)}
    return allowed


CONTEXT_QUESTION = "What does the company's website say about it?"


def company_context(
    company: str, topic: str, pages: Sequence[tuple[int, Source]], claims: Sequence[Claim]
) -> tuple[list[Segment], list[Claim]]:
    """What the company's own pages say (sentences quoted with their number), most relevant to
    the topic first, and those sentences as claims (for the sidecar); or that the pages could
    not be read."""
    out: list[Segment] = [("## Company Context\n\n", True)]
    if not pages:
        out.append(
            (
                f"*The website of {_md(company)} could not be read, so nothing is said here "
                "about its own situation; the sections below speak of the sector.*\n\n",
                False,
            )
        )
        return out, []
    numbers = {n for n, _ in pages}
    chosen = [c for c in claims if c.source in numbers]
    seen = {normalize(c.text) for c in chosen}
    wanted = set(tokenize(f"{topic} {company}"))
    candidates: list[tuple[int, int, Claim]] = []
    for order, (n, page) in enumerate(pages):
        for k, sentence in enumerate(source_sentences(page.text)[:20]):
            if normalize(sentence) in seen:
                continue
            overlap = len(wanted & set(tokenize(sentence)))
            candidates.append(
                (-overlap, order * 100 + k, Claim(sentence, n, sentence, CONTEXT_QUESTION))
            )
    candidates.sort(key=lambda t: (t[0], t[1]))
    for _, _, claim in candidates:
        if len(chosen) >= CONTEXT_SENTENCES:
            break
        if normalize(claim.text) not in seen:
            seen.add(normalize(claim.text))
            chosen.append(claim)
    if chosen:
        out.append((_paragraph(chosen) + "\n\n", True))
    else:
        out.append(("*The company's pages that were read say nothing usable here.*\n\n", False))
    return out, chosen


def risk_section(claims: Sequence[Claim], *, exclude: Sequence[Claim] = ()) -> list[Segment]:
    """Readiness and Risks: kept claims that speak of risks, regulation, costs or barriers."""
    skip = {normalize(c.text) for c in exclude}
    seen: set[str] = set()
    chosen: list[Claim] = []
    for c in claims:
        key = normalize(c.text)
        if key in skip or key in seen or not _RISK.search(c.text):
            continue
        seen.add(key)
        chosen.append(c)
    out: list[Segment] = [("## Readiness and Risks\n\n", True)]
    if chosen:
        out.append((_paragraph(chosen[:SECTION_CLAIMS]) + "\n\n", True))
    else:
        out.append(("*No source gathered for this job spoke of risks or barriers.*\n\n", False))
    return out
