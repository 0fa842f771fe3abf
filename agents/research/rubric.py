"""Use-case scores from a stated rubric computed from features, not from the model's say-so.

The analyst proposes each use case and rates its cost and risk; the pipeline measures the rest
against what the job found and turns it into the two scores:

impact    = evidence + cost + risk      (6-7 High, 3-5 Medium, 0-2 Low)
  evidence  kept claims that speak of the use case (two or more content words in common,
            words of the topic itself not counted): 0, 1, 2, 3 or more → 0..3
  cost      low 2, medium 1, high 0     (the analyst's rating)
  risk      low 2, medium 1, high 0     (the analyst's rating)
alignment = fit + company backing       (2-3 High, 1 Medium, 0 Low)
  fit       content words the use case shares with the company's own pages: 4 or more
            strong (2), 2-3 partial (1), fewer weak (0); not assessed (0) when the site was
            not read
  company   1 when a kept claim from a company page speaks of the use case

ROI: the analyst's estimate is kept only with its basis ("… (basis: …)"), else "not estimated".
Each use case gets a one-line justification naming the claims ([n]) and the counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any

from agents.sources.bm25 import tokenize

LEVEL = {"low": 2, "medium": 1, "high": 0}
FIT = {"strong": 2, "partial": 1, "weak": 0, "not assessed": 0}
NOT_ESTIMATED = "not estimated"
MIN_SHARED = 2  # content words a claim must share with a use case to count as its evidence
STRONG_FIT, PARTIAL_FIT = 4, 2
MAX_EVIDENCE = 3

RUBRIC_TEXT = (
    "Scoring rubric: impact = evidence (0-3: kept claims that speak of the use case, two or "
    "more content words in common, topic words not counted) + cost (low 2, medium 1, high 0) "
    "+ risk (low 2, medium 1, high 0): 6-7 High, 3-5 Medium, 0-2 Low. Alignment = fit (content "
    "words shared with the company's own pages: 4 or more strong 2, 2-3 partial 1, fewer weak "
    "0; not assessed when the website could not be read) + 1 when a claim from a company page "
    "speaks of it: 2-3 High, 1 Medium, 0 Low. ROI is given only with its basis, otherwise it "
    "is not estimated."
)

# What the analyst is asked for besides the use case itself (evidence and fit are kept in the
# schema as the analyst's view, but the scores use the measured ones).
RUBRIC_PROPERTIES: dict[str, Any] = {
    "evidence": {"type": "array", "items": {"type": "integer"}},
    "cost": {"type": "string", "enum": ["low", "medium", "high"]},
    "risk": {"type": "string", "enum": ["low", "medium", "high"]},
    "fit": {"type": "string", "enum": ["strong", "partial", "weak"]},
    "roi_basis": {"type": "string"},
}
_GENERIC = frozenset(
    tokenize(
        "ai artificial intelligence company companies business use used using new also help "
        "improve data system systems solution solutions based model models tool tools can "
        "will firm firms"
    )
)


@dataclass(frozen=True)
class RubricContext:
    claims: Sequence[tuple[int, str]] = ()  # (source number, claim text) of the kept claims
    company_pages: Set[int] = frozenset()  # source numbers of company pages
    company_text: str = ""  # the company pages' text
    topic: str = ""
    company: str = ""

    @property
    def company_read(self) -> bool:
        return bool(self.company_pages)

    def ignored(self) -> frozenset[str]:
        return _GENERIC | set(tokenize(f"{self.topic} {self.company}"))


@dataclass(frozen=True)
class Scored:
    impact: str
    alignment: str
    roi: str
    line: str  # the one-line justification
    points: tuple[int, int] = (0, 0)


def _word(item: Mapping[str, Any], key: str, table: Mapping[str, int], default: str) -> str:
    value = item.get(key)
    word = value.strip().lower() if isinstance(value, str) else ""
    return word if word in table else default


def _words(item: Mapping[str, Any], ignored: frozenset[str]) -> set[str]:
    text = " ".join(
        str(item.get(k) or "") for k in ("title", "description", "business_value", "implementation")
    )
    return set(tokenize(text)) - ignored


def score(item: Mapping[str, Any], ctx: RubricContext) -> Scored:
    ignored = ctx.ignored()
    mine = _words(item, ignored)
    claims = dict(((n, " ".join(t.lower().split())), t) for n, t in ctx.claims)  # distinct
    matched = [n for (n, _), t in claims.items() if len(mine & set(tokenize(t))) >= MIN_SHARED]
    backing = sorted(set(matched))
    evidence = min(MAX_EVIDENCE, len(matched))
    cost = _word(item, "cost", LEVEL, "medium")
    risk = _word(item, "risk", LEVEL, "medium")
    points = evidence + LEVEL[cost] + LEVEL[risk]
    impact = "High" if points >= 6 else "Medium" if points >= 3 else "Low"
    if ctx.company_read:
        shared = len(mine & (set(tokenize(ctx.company_text)) - ignored))
        fit = "strong" if shared >= STRONG_FIT else "partial" if shared >= PARTIAL_FIT else "weak"
        fit_why = f"{fit} fit ({shared} word(s) in common with the company's pages)"
    else:
        fit, fit_why = "not assessed", "fit not assessed (the company's website was not read)"
    company = 1 if any(n in ctx.company_pages for n in backing) else 0
    fit_points = FIT[fit] + company
    alignment = "High" if fit_points >= 2 else "Medium" if fit_points == 1 else "Low"
    refs = "".join(f"[{n}]" for n in backing) or "none"
    basis = item.get("roi_basis")
    basis = " ".join(basis.split()) if isinstance(basis, str) else ""
    estimate = item.get("estimated_roi")
    estimate = " ".join(estimate.split()) if isinstance(estimate, str) else ""
    roi = f"{estimate} (basis: {basis})" if basis and estimate else NOT_ESTIMATED
    line = (
        f"Impact {impact} ({points}/7): {len(matched)} kept claim(s) speak of it "
        f"(sources {refs}; evidence {evidence}/3), {cost} cost, {risk} risk. "
        f"Alignment {alignment} ({fit_points}/3): {fit_why}"
        f"{', backed by a claim from a company page' if company else ''}. ROI: {roi}."
    )
    return Scored(impact, alignment, roi, line, (points, fit_points))
