"""Claim checks (quotes, relevance, company statements), the report guard, the loop's bounds
per depth, and the research settings."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agents.llm.port import CompletionRequest, LLMEvent
from agents.research.claims import check_claims, quote_found
from agents.research.guard import CompanyRule, ReportGuard, split_sentences
from agents.research.rubric import RubricContext
from agents.research.write import validate_use_cases
from agents.sources.base import Source
from agents.sources.shared_gate import SharedHostGate
from server.settings import SettingsError, load_settings
from tests.research.support import (
    WORKSPACE,
    QuotingResearcher,
    make_deps,
    of_type,
    request,
    run_job,
)
from tests.research.support import scripted_models as models_for

PAGE = (
    "Route optimisation software reduced driven kilometres by 12 percent for regional "
    "carriers in a 2025 survey. Payback took 9 to 14 months."
)


def _src(text: str = PAGE, *, company: bool = False) -> Source:
    return Source(ref="https://x.example/a", title="A", text=text, kind="page",
                  url="https://x.example/a", company=company)  # fmt: skip


def test_a_quote_is_found_exactly_or_closely_and_not_otherwise() -> None:
    assert quote_found("reduced driven kilometres by 12 percent for regional carriers", PAGE)
    # typographic quotes, case and spacing do not matter; one changed letter is close
    assert quote_found("Route  OPTIMISATION software reduced driven kilometers by 12", PAGE)
    assert not quote_found("reduced driven kilometres by 40 percent for all carriers", PAGE)
    assert not quote_found("12 percent", PAGE)  # too short to support anything


def check(items: list[dict], *, company_page: bool = False, question: str = "") -> object:
    return check_claims(
        {"claims": items, "missing": ["route planning licence costs", "x"]},
        sources={1: _src(company=company_page)},
        question=question or "How much do carriers save with route optimisation?",
        topic="AI for route planning in logistics",
        company="Northwind Freight",
    )


def test_claims_are_kept_only_with_their_quote_in_the_cited_source() -> None:
    good = {"claim": "Route optimisation cut kilometres by 12%.", "source": 1,
            "quote": "reduced driven kilometres by 12 percent for regional carriers"}  # fmt: skip
    wrong_source = good | {"source": 2}
    invented = good | {"quote": "reduced costs by half for every carrier in the world"}
    result = check([good, wrong_source, invented, good])
    assert [c.text for c in result.kept] == [good["claim"]]  # the repeat is not kept twice
    assert [r for _, r in result.dropped] == [
        "cites no source that was shown",
        "quote not found in the cited source",
    ]
    assert result.followups == ["route planning licence costs"]  # "x" is too short


def test_an_off_question_claim_is_dropped() -> None:
    claim = {"claim": "Payback took 9 to 14 months.", "source": 1,
             "quote": "Payback took 9 to 14 months."}  # fmt: skip
    result = check([claim], question="Which regulations apply to telematics data?")
    assert result.kept == [] and result.dropped[0][1] == "not relevant to the question"


def test_company_statements_need_a_company_source() -> None:
    claim = {"claim": "Northwind Freight cut route kilometres by 12 percent.", "source": 1,
             "quote": "reduced driven kilometres by 12 percent for regional carriers"}  # fmt: skip
    assert check([claim]).dropped[0][1] == "a statement about the company without a company source"
    assert len(check([claim], company_page=True).kept) == 1


def test_the_guard_drops_uncited_and_repeated_sentences_and_duplicate_headings() -> None:
    guard = ReportGuard(title="Deep Research Report: T")
    text = (
        "## Deep Research Report: T\n## Summary\nCarriers cut kilometres by 12% [1]. "
        "Northwind Freight has successfully implemented AI for route planning. Short one.\n"
        "- Payback took a year [2]\n- Payback took a year [2]\n## Summary\n"
        "## Recommendations\nStart with a pilot on one depot.\n"
    )
    out = "".join(guard.feed(text[i : i + 7]) for i in range(0, len(text), 7)) + guard.flush()
    assert out == (
        "## Summary\nCarriers cut kilometres by 12% [1]. Short one.\n- Payback took a year [2]\n"
        "## Recommendations\nStart with a pilot on one depot.\n"
    )
    assert guard.uncited == 1 and guard.repeated == 3


def test_sentences_keep_their_trailing_citations() -> None:
    assert split_sentences("A b c [1][2]. Next one [3]. # Heading-like text") == [
        "A b c [1][2].", "Next one [3].", "# Heading-like text",
    ]  # fmt: skip


@pytest.mark.parametrize(("depth", "rounds"), [("quick", 1), ("standard", 2), ("deep", 3)])
def test_the_loop_runs_at_most_the_depths_rounds(tmp_path: Path, depth: str, rounds: int) -> None:
    """Follow-ups are asked for every time; the depth bounds the rounds per question."""
    models = models_for()
    models.researcher = QuotingResearcher(followups=[[f"follow-up query {i}"] for i in range(40)])
    events = asyncio.run(run_job(make_deps(models, tmp_path), request(depth=depth)))
    assert events[-1].type == "complete"
    progress = [e.message for e in of_type(events, "multiagent_progress")]
    question_1 = [m for m in progress if m.startswith("Question 1, round")]
    assert [m.split(":")[0] for m in question_1] == [
        f"Question 1, round {r}/{rounds}" for r in range(1, rounds + 1)
    ]
    assert len(models.researcher.requests) == rounds * 3  # the plan has three questions


def test_dropped_claims_are_counted_in_a_status_event(tmp_path: Path) -> None:
    events = asyncio.run(run_job(make_deps(models_for(invent=True), tmp_path)))
    (line,) = [e.message for e in of_type(events, "status") if e.message.startswith("Claims: ")]
    counts = re.match(r"Claims: (\d+) kept, (\d+) dropped", line)
    assert counts is not None
    kept, dropped = int(counts.group(1)), int(counts.group(2))
    assert kept > 0 and dropped >= 3 and "cites no source that was shown" in line


def test_research_settings_read_providers_keys_and_depths() -> None:
    env = {
        "QUBITZ_SEARCH_PROVIDER": "searxng, brave",
        "QUBITZ_SEARXNG_URL": "http://127.0.0.1:8888",
        "BRAVE_API_KEY": "k",
        "QUBITZ_RESEARCH_POLITENESS_DELAY": "0.5",
        "QUBITZ_RESEARCH_DEPTH_QUICK": "rounds=2, pages=5",
    }
    s = load_settings(env).research
    assert s.search().providers == ("searxng", "brave") and s.read().delay == 0.5
    assert (s.depths()["quick"].rounds, s.depths()["quick"].pages) == (2, 5)
    assert s.depths()["standard"].rounds == 2
    assert load_settings({}).research.search().providers == ()


def test_the_host_gate_is_shared_through_redis_only_when_there_is_redis() -> None:
    import redis.asyncio as aioredis

    s = load_settings(
        {"QUBITZ_RESEARCH_HOST_CONCURRENCY": "3", "QUBITZ_RESEARCH_POLITENESS_DELAY": "0.5"}
    ).research
    assert s.host_gate(None) is None  # each reader keeps its own gate
    client = aioredis.from_url("redis://127.0.0.1:1/0")  # no connection is made here
    gate = s.host_gate(client)
    assert isinstance(gate, SharedHostGate) and (gate.per_host, gate.delay) == (3, 0.5)


@pytest.mark.parametrize(
    ("env", "why"),
    [
        ({"QUBITZ_SEARCH_PROVIDER": "searxng"}, "QUBITZ_SEARXNG_URL"),
        ({"QUBITZ_SEARCH_PROVIDER": "tavily"}, "TAVILY_API_KEY"),
        ({"QUBITZ_SEARCH_PROVIDER": "google"}, "unknown search provider"),
        ({"QUBITZ_RESEARCH_DEPTH_DEEP": "rounds=many"}, "key=integer"),
    ],
)
def test_research_settings_refuse_incomplete_configuration(env: dict, why: str) -> None:
    with pytest.raises(SettingsError, match=why):
        load_settings(env)


def test_sources_are_ranked_by_relevance_and_quality() -> None:
    from agents.research.excerpts import rank_sources

    def s(ref: str, kind: str, text: str, company: bool = False) -> Source:
        return Source(ref=ref, title=ref, text=text, kind=kind, company=company)  # type: ignore[arg-type]

    snippet = s("snippet", "web", "route planning software route planning savings")
    page = s("page", "page", "route planning software route planning savings for carriers")
    off = s("off", "document", "quarterly banking results and interest rates")
    about = s("about", "page", "family business founded 1987", company=True)
    ranked = rank_sources(
        [(1, snippet), (2, off), (3, page), (4, about)], "route planning savings", limit=5
    )
    assert [n for n, _ in ranked] == [3, 1, 4]  # the page before its snippet; off-topic left out


def test_the_service_settings_carry_the_search_configuration() -> None:
    import httpx

    from agents.sources.search.factory import build_backends
    from agents.sources.search.searxng import SearxngBackend

    s = load_settings(
        {"QUBITZ_SEARCH_PROVIDER": "searxng", "QUBITZ_SEARXNG_URL": "http://127.0.0.1:9/"}
    )
    client = httpx.AsyncClient()
    (backend,) = build_backends(s.research.search(), client)
    asyncio.run(client.aclose())
    assert isinstance(backend, SearxngBackend) and backend.base_url == "http://127.0.0.1:9"
    with pytest.raises(SettingsError, match="QUBITZ_SEARXNG_URL"):
        load_settings({"QUBITZ_SEARCH_PROVIDER": "searxng"})


def test_sentences_are_offered_by_id_and_kept_ones_not_again() -> None:
    """Extractive claims: each citable sentence gets an id; headings and fragments do not; a
    sentence already kept in the job is not offered again (later rounds pick new ones)."""
    from agents.research.claims import normalize, number_sentences, selected_claims

    text = (
        "# Route planning\nRoute optimisation cut driven kilometres by 12 percent in 2025.\n\n"
        "Payback came within 9 to 14 months for mid-size carriers. Short bit.\n"
    )
    ids, per_source = number_sentences([(3, text)])
    assert [s for _, s in per_source[3]] == [
        "Route optimisation cut driven kilometres by 12 percent in 2025.",
        "Payback came within 9 to 14 months for mid-size carriers.",
    ]
    claims = selected_claims({"facts": ["3.2", "9.9"], "missing": []}, ids)["claims"]
    assert claims[0] == {"claim": ids["3.2"][1], "source": 3, "quote": ids["3.2"][1]}
    assert claims[1]["source"] is None  # an id that was not offered
    again, _ = number_sentences([(3, text)], skip={normalize(ids["3.1"][1])})
    assert [s for _, s in again.values()] == [ids["3.2"][1]]


@dataclass
class SlowResearcher(QuotingResearcher):
    """The careful researcher, taking a moment per claims answer (as a real model does), so
    that questions run in parallel overlap."""

    async def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        if request.schema_name == "research_claims":
            await asyncio.sleep(0.05)
        async for event in super().stream(request):
            yield event


@pytest.mark.parametrize("provider", ["local", "anthropic"])
def test_on_the_embedded_model_each_question_is_offered_only_sentences_not_yet_kept(
    tmp_path: Path, provider: str
) -> None:
    """The embedded model runs one call at a time, so the questions' claims calls take turns:
    each is built after the previous one's claims were kept and offers none of them again, so
    no sentence is kept for two questions. An API model's calls run in parallel, built at the
    same time: the same sentence is kept for several questions."""
    models = models_for()
    models.researcher = SlowResearcher(provider=provider)
    events = asyncio.run(run_job(make_deps(models, tmp_path)))
    assert events[-1].type == "complete", events[-1]
    root = tmp_path / "artifacts" / WORKSPACE / events[-1].project_id
    sidecar = json.loads((root / "citations.json").read_text())
    kept = [claim for c in sidecar["citations"] for claim in c["claims"]]
    assert kept
    shared = [k["quote"] for k in kept if len(k["questions"]) > 1]
    if provider == "local":
        assert shared == [], "a sentence kept for one question was offered to another"
    else:
        assert shared, "built at the same time, the prompts offer the same sentences"


@pytest.mark.parametrize(
    ("sentence", "kept"),
    [
        ("Northwind Freight could pilot route optimisation on one depot.", True),
        ("Northwind Freight should also train its planners first.", True),
        ("A routing assistant would help Northwind Freight cut empty kilometres.", True),
        # indicative: a statement of what the company is or does needs a company source
        ("Northwind Freight uses spreadsheets to plan routes.", False),
        ("Northwind Freight has successfully implemented AI for route planning.", False),
        ("Northwind Freight can already track every truck.", False),
        ("Northwind Freight, which runs regional depots, could pilot it.", False),
        # a figure about the company in a proposal is still a fact no source gave
        ("Northwind Freight could cut costs by 12 percent.", False),
    ],
)
def test_in_proposals_the_company_may_be_named_as_what_it_could_do(
    sentence: str, kept: bool
) -> None:
    """Use-case texts (proposals) keep "<company> could ..." but not indicative claims; the
    reports, advisory sections included, need a company source for both."""
    rule = CompanyRule("Northwind Freight", {2}, proposals=True)
    assert (rule.filter(sentence) == sentence) is kept
    assert CompanyRule("Northwind Freight", {2}).filter(sentence) == ""
    guard = ReportGuard(title="R", company="Northwind Freight", company_sources={2})
    text = f"## Recommendations\n{sentence}\n"
    assert guard.feed(text) + guard.flush() == "## Recommendations\n"


def test_a_use_case_written_as_a_proposal_for_the_company_is_kept() -> None:
    """The small model names the company in every use case; with its site unreachable the use
    cases stay when they say what it could do (the research job failed on this before)."""
    item = {
        "title": "Route optimisation", "description": "Northwind Freight could plan nightly "
        "routes with a solver.", "business_value": "It would help Northwind Freight cut empty "
        "kilometres.", "implementation": "Start with one depot.", "estimated_roi": "",
        "cost": "low", "risk": "low", "fit": "weak", "evidence": [], "roi_basis": "",
    }  # fmt: skip
    rule = CompanyRule("Northwind Freight", frozenset(), proposals=True)
    fleet = item | {"title": "Fleet", "description": "Northwind Freight operates 200 trucks."}
    context = RubricContext(topic="AI", company="Northwind Freight")
    valid, problems, _ = validate_use_cases(
        {"use_cases": [item, fleet]}, limit=5, rubric=context, rule=rule
    )
    assert [u.title for u in valid] == ["Route optimisation"]
    assert valid[0].description == "Northwind Freight could plan nightly routes with a solver."
    assert "only stated facts about the company" in problems[0]
