"""The citations sidecar: one JSON artifact per job (`citations.json`, beside the eight report
files, not one of the protocol's `file_type`s) listing, per cited source number, the source's
title, URL, site and access date, and each kept claim with its supporting quote, so a reader
can check every `[n]` of the reports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from agents.research.state import JobState

SIDECAR_NAME = "citations.json"
SIDECAR_TYPE = "application/json"


def sidecar(state: JobState) -> dict[str, Any]:
    cited: dict[int, list[str]] = {}
    for report, numbers in state.cited_by_report.items():
        for n in numbers:
            cited.setdefault(n, []).append(report)
    by_source: dict[int, list[dict[str, Any]]] = {}
    for claim in state.claims:
        entries = by_source.setdefault(claim.source, [])
        same = next(
            (e for e in entries if (e["claim"], e["quote"]) == (claim.text, claim.quote)), None
        )
        if same is None:
            entries.append(
                {"claim": claim.text, "quote": claim.quote, "questions": [claim.question]}
            )
        elif claim.question not in same["questions"]:
            same["questions"].append(claim.question)
    citations = []
    for n in sorted(cited):
        src = state.registry.get(n)
        citations.append(
            {
                "n": n,
                "title": src.title,
                "url": src.url,
                "document": None if src.url else src.ref.removeprefix("doc:"),
                "site": src.site or None,
                "accessed": src.accessed or None,
                "company_page": src.company,
                "cited_in": cited[n],
                "claims": by_source.get(n, []),
            }
        )
    return {
        "project_id": state.project_id,
        "topic": state.topic,
        "company": state.company,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "providers": state.providers_used,
        "claims_kept": len(state.claims),
        "claims_dropped": state.claims_dropped,
        "citations": citations,
        "use_case_scoring": state.use_case_scoring,
    }


def sidecar_bytes(state: JobState) -> bytes:
    return orjson.dumps(sidecar(state), option=orjson.OPT_INDENT_2)
