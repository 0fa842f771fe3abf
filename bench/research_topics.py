"""A fixed set of ten research topics for the embedded-model quality run (issue 13), each
paired with a company, answered offline from the bundled sample corpus (no search provider,
company site unreachable), and the figures scored per report: words of the report body, the
four required sections present, inline citations, and how many of them resolve to a gathered
source whose every sidecar quote is found in that source's text; sentences of the report body
and the discovery report naming the company without a company-page citation (the site is
unreachable here, so any such sentence is unsourced); and the distinct cited sentences of the
body (composition from few claims repeats few sentences)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from agents.research.claims import normalize, quote_found
from agents.sources.corpus import SAMPLE_CORPUS_DIR, read_document
from bench.research_quality import SECTIONS, company_sentences, sentences

TOPICS: tuple[tuple[str, str], ...] = (
    ("How banks use AI for fraud detection and credit scoring", "Harbor Savings Bank"),
    ("AI for diagnostic imaging and patient triage in hospitals", "Lakeside Health"),
    ("Machine learning for load forecasting at electricity utilities", "Northgrid Energy"),
    ("Predictive maintenance with AI on factory production lines", "Baltic Machine Works"),
    ("Personalised recommendations with AI in online retail", "Corner Basket Stores"),
    ("What the EU AI Act requires from companies deploying AI", "Meridian Insurance"),
    ("The cost of running generative AI models in production", "Quillsoft"),
    ("Hiring and training staff for AI projects", "Atlas Staffing Group"),
    ("AI agents that automate back-office workflows", "Ledgerline Services"),
    ("Setting up AI governance and model risk management", "Crescent Capital"),
)

_CITE = re.compile(r"(?<!\\)\[(\d+)\]")


def corpus_texts() -> dict[str, str]:
    """The sample corpus documents' text by document id (as the sidecar names them)."""
    out: dict[str, str] = {}
    for path in sorted(SAMPLE_CORPUS_DIR.rglob("*")):
        if path.is_file():
            doc = read_document(path, SAMPLE_CORPUS_DIR)
            if doc is not None:
                out[doc.doc_id] = doc.text
    return out


def topic_quality(root: Path, texts: dict[str, str], company: str) -> dict[str, Any]:
    """The figures of one stored job (see module docstring)."""
    report = (root / "deep_research_report.md").read_text()
    body = report.partition("## Method")[0]
    discovery = (root / "ai_discovery_report.md").read_text().partition("## Sources")[0]
    sidecar = json.loads((root / "citations.json").read_text())
    by_n = {c["n"]: c for c in sidecar["citations"]}
    cited = [int(n) for n in _CITE.findall(body)]

    def resolves(n: int) -> bool:
        entry = by_n.get(n)
        if entry is None or not entry["claims"]:
            return False
        text = texts.get(entry.get("document") or "", "")
        return bool(text) and all(quote_found(c["quote"], text) for c in entry["claims"])

    return {
        "words": len(body.split()),
        "sections": sum(1 for s in SECTIONS if s in body),
        "citations": len(cited),
        "distinct": len(set(cited)),
        "resolving": sum(1 for n in set(cited) if resolves(n)),
        "claims kept": sidecar["claims_kept"],
        "uncited company": len(company_sentences(body, company, set()))
        + len(company_sentences(discovery, company, set())),
        "distinct sentences": len(
            {normalize(_CITE.sub("", x)) for x in sentences(body) if _CITE.search(x)}
        ),
        "claims dropped": sidecar["claims_dropped"],
    }
