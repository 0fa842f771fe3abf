"""Use-case scores from a stated rubric, not from the model's say-so.

The analyst rates each use case on four parts; the pipeline turns them into the two scores:

impact    = evidence + cost + risk      (5-6 High, 3-4 Medium, 0-2 Low)
  evidence  cited sources that back it (kept claims only): 0, 1, 2 or more → 0 / 1 / 2
  cost      low 2, medium 1, high 0
  risk      low 2, medium 1, high 0
alignment = fit + company evidence      (2-3 High, 1 Medium, 0 Low)
  fit       strong 2, partial 1, weak 0 (at most partial when the company's site was not read)
  company   1 when one of its evidence sources is a page of the company's own website

ROI: the analyst's estimate is kept only with its basis ("… (basis: …)"), else "not estimated".
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any

LEVEL = {"low": 2, "medium": 1, "high": 0}
FIT = {"strong": 2, "partial": 1, "weak": 0}
NOT_ESTIMATED = "not estimated"

RUBRIC_TEXT = (
    "Scoring rubric: impact = evidence (0-2: cited sources backing the use case) + cost "
    "(low 2, medium 1, high 0) + risk (low 2, medium 1, high 0): 5-6 High, 3-4 Medium, 0-2 Low. "
    "Alignment = fit with what the sources say about the company (strong 2, partial 1, weak 0; "
    "at most partial when the company's website could not be read) + 1 when a page of the "
    "company's own website backs it: 2-3 High, 1 Medium, 0 Low. ROI is given only with its "
    "basis, otherwise it is not estimated."
)

RUBRIC_PROPERTIES: dict[str, Any] = {
    "evidence": {"type": "array", "items": {"type": "integer"}},
    "cost": {"type": "string", "enum": ["low", "medium", "high"]},
    "risk": {"type": "string", "enum": ["low", "medium", "high"]},
    "fit": {"type": "string", "enum": ["strong", "partial", "weak"]},
    "roi_basis": {"type": "string"},
}


@dataclass(frozen=True)
class RubricContext:
    evidence: Set[int]  # source numbers cited by kept claims
    company_pages: Set[int]  # source numbers of company pages
    company_read: bool


@dataclass(frozen=True)
class Scored:
    impact: str
    alignment: str
    roi: str
    line: str  # the one-line justification


def _word(item: Mapping[str, Any], key: str, table: Mapping[str, int], default: str) -> str:
    value = item.get(key)
    word = value.strip().lower() if isinstance(value, str) else ""
    return word if word in table else default


def score(item: Mapping[str, Any], ctx: RubricContext) -> Scored:
    raw = item.get("evidence")
    cited = sorted({n for n in raw if isinstance(n, int) and n in ctx.evidence}) if isinstance(
        raw, list
    ) else []  # fmt: skip
    evidence = min(2, len(cited))
    cost = _word(item, "cost", LEVEL, "medium")
    risk = _word(item, "risk", LEVEL, "medium")
    fit = _word(item, "fit", FIT, "partial")
    if not ctx.company_read and fit == "strong":
        fit = "partial"
    points = evidence + LEVEL[cost] + LEVEL[risk]
    impact = "High" if points >= 5 else "Medium" if points >= 3 else "Low"
    company = 1 if any(n in ctx.company_pages for n in cited) else 0
    fit_points = FIT[fit] + company
    alignment = "High" if fit_points >= 2 else "Medium" if fit_points == 1 else "Low"
    refs = "".join(f"[{n}]" for n in cited) or "none"
    basis = item.get("roi_basis")
    basis = " ".join(basis.split()) if isinstance(basis, str) else ""
    estimate = item.get("estimated_roi")
    estimate = " ".join(estimate.split()) if isinstance(estimate, str) else ""
    roi = f"{estimate} (basis: {basis})" if basis and estimate else NOT_ESTIMATED
    site = "" if ctx.company_read else "; the company's website was not read"
    line = (
        f"Impact {impact} ({points}/6): evidence {evidence}/2 from sources {refs}, {cost} cost, "
        f"{risk} risk. Alignment {alignment} ({fit_points}/3): {fit} fit"
        f"{', backed by a company page' if company else ''}{site}."
    )
    return Scored(impact, alignment, roi, line)
