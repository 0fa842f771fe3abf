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
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agents.errors import NotFound
from agents.protocol import Event, UseCasesComplete
from agents.research.claims import normalize, quote_found
from agents.research.store import NewProject, ProjectRecord, ReportRef
from bench.research_peers import ARTICLES, COMPANY, Peer, page_text

SECTIONS = ("## Executive Summary", "## Market Analysis", "## Key Findings", "## Recommendations")
_CITE = re.compile(r"(?<!\\)\[(\d+)\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


class MemoryProjects:
    """A ProjectStore in memory (the bench stores no projects in a database)."""

    def __init__(self) -> None:
        self.records: dict[str, ProjectRecord] = {}

    async def create_project(self, workspace_id: str, project: NewProject) -> str:
        pid = f"project{len(self.records) + 1}"
        now = datetime.now(UTC)
        self.records[pid] = ProjectRecord(
            pid, workspace_id, project.user_id, project.session_id, project.company_name,
            project.company_url, project.prompt, project.depth, project.language, "running",
            now, now,
        )  # fmt: skip
        return pid

    async def add_report(self, workspace_id: str, project_id: str, report: ReportRef) -> None:
        rec = await self.get_project(workspace_id, project_id)
        self.records[project_id] = replace(rec, reports={**rec.reports, report.file_type: report})

    async def complete_project(
        self, workspace_id: str, project_id: str, *,
        use_cases: Sequence[Mapping[str, Any]], usage: Mapping[str, Any],
    ) -> None:  # fmt: skip
        rec = await self.get_project(workspace_id, project_id)
        self.records[project_id] = replace(rec, status="complete")

    async def fail_project(self, workspace_id: str, project_id: str, *, error: str) -> None:
        rec = await self.get_project(workspace_id, project_id)
        self.records[project_id] = replace(rec, status="failed")

    async def get_project(self, workspace_id: str, project_id: str) -> ProjectRecord:
        rec = self.records.get(project_id)
        if rec is None or rec.workspace_id != workspace_id:
            raise NotFound(project_id)
        return rec

    async def list_projects(
        self, workspace_id: str, *, user_id: str | None = None, limit: int = 50
    ) -> list[ProjectRecord]:
        return [r for r in self.records.values() if r.workspace_id == workspace_id][:limit]

    async def find_report_by_url(
        self, workspace_id: str, url: str
    ) -> tuple[ProjectRecord, ReportRef] | None:
        return None


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if len(s.strip()) > 20]


def _served_texts(peers: Mapping[str, Peer]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for base, peer in peers.items():
        hit_paths = {h.split("?")[0] for h in peer.hits}
        for path, (_, paras) in {**ARTICLES, **COMPANY}.items():
            if path in peer.routes and path in hit_paths:
                texts[base + path] = page_text(paras)
    return texts


def _company_sentences(text: str, company: str, company_ns: set[int]) -> list[str]:
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
    unsupported = _company_sentences(body, company, company_ns) + _company_sentences(
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
