"""Quality figures of one research job's stored files (for bench_research_embedded).

- report words and which of the four required sections are present;
- inline citations in the report body (before "## Method") and whether every one resolves to a
  page the loopback peers actually served (the Sources line names its URL, the page was hit);
- whether every quote of the citations sidecar occurs in the page it names
  (agents.research.claims.quote_found, the pipeline's own check, run again on the peer's text);
- claims kept / dropped (sidecar);
- sentences of the report and discovery report that name the company but cite no company page;
- whether the use cases' (impact, alignment) scores differ;
- sentences repeated within the report body and the discovery report.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agents.protocol import Event, UseCasesComplete
from agents.research.claims import normalize, quote_found
from bench.research_peers import ARTICLES, COMPANY_PAGES, Peer, page_text

SECTIONS = ("## Executive Summary", "## Market Analysis", "## Key Findings", "## Recommendations")
_CITE = re.compile(r"(?<!\\)\[(\d+)\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if len(s.strip()) > 20]


def _served_texts(peers: Mapping[str, Peer]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for base, peer in peers.items():
        hit_paths = {r.path for r in peer.requests}
        for path, (_, paras) in {**ARTICLES, **COMPANY_PAGES}.items():
            if path in peer.routes and path in hit_paths:
                texts[base + path] = page_text(paras)
    return texts


def company_sentences(text: str, company: str, company_ns: set[int]) -> list[str]:
    out = []
    for s in sentences(text):
        if s.startswith(("#", "*")) or normalize(company) not in normalize(s):  # meta lines
            continue
        cited = {int(n) for n in _CITE.findall(s)}
        if not cited & company_ns:
            out.append(s[:160])
    return out


def _repeats(text: str) -> int:
    seen = [normalize(s) for s in sentences(text) if not s.startswith(("#", "|", "*"))]
    return len(seen) - len(set(seen))


def quality(
    events: Sequence[Event], artifacts: Path, workspace: str, peers: Mapping[str, Peer],
    company: str,
) -> dict[str, Any]:  # fmt: skip
    project = next((getattr(e, "project_id", "") for e in events if e.type == "complete"), "")
    root = artifacts / workspace / project
    if not project or not root.is_dir():
        return {"stored": False}
    report = (root / "deep_research_report.md").read_text()
    discovery = (root / "ai_discovery_report.md").read_text()
    body, _, rest = report.partition("## Method")
    sources_section = rest.partition("## Sources")[2]
    sidecar = json.loads((root / "citations.json").read_text())
    by_n = {c["n"]: c for c in sidecar["citations"]}
    served = _served_texts(peers)
    cited = [int(n) for n in _CITE.findall(body)]
    unresolved = sorted(
        n for n in set(cited) if (by_n.get(n) or {}).get("url") not in served
        or f"\\[{n}\\]" not in sources_section
    )  # fmt: skip
    quotes = [(c["url"], q["quote"]) for c in sidecar["citations"] for q in c["claims"]]
    quotes_missing = [q[:80] for url, q in quotes if not quote_found(q, served.get(url, ""))]
    company_ns = {c["n"] for c in sidecar["citations"] if c.get("company_page")}
    unsupported = company_sentences(body, company, company_ns) + company_sentences(
        discovery.partition("## Sources")[0], company, company_ns
    )
    done = [e for e in events if isinstance(e, UseCasesComplete)]
    scores = [(u.impact_score, u.alignment_score) for e in done for u in e.use_cases]
    return {
        "report words": len(body.split()),
        "sections present": [s[3:] for s in SECTIONS if s in body],
        "sections missing": [s[3:] for s in SECTIONS if s not in body],
        "inline citations in body (distinct)": f"{len(cited)} ({len(set(cited))})",
        "citations not resolving to a page read": unresolved,
        "sidecar quotes / not found in their page": f"{len(quotes)} / {len(quotes_missing)}",
        "claims kept / dropped": f"{sidecar['claims_kept']} / {sidecar['claims_dropped']}",
        "company sentences without a company-page citation": len(unsupported),
        "examples": unsupported[:3],
        "use cases / distinct (impact, alignment) scores": f"{len(scores)} / {len(set(scores))}",
        "repeated sentences (report, discovery)": (_repeats(body), _repeats(discovery)),
        "discovery words": len(discovery.split()),
    }
