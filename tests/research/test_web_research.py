"""Research end to end over the web: a loopback SearXNG-format server returns results that
point at loopback pages; the company site is a loopback website. The fetch policy is widened
for these tests by configuration (FetchPolicy(allow_private=True)), nothing is patched."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agents.netsafe import FetchPolicy
from agents.research.deps import default_sources
from agents.sources.reader import ReadPolicy
from agents.sources.search.base import CallLimits, SearchBackend
from agents.sources.search.brave import BraveBackend
from agents.sources.search.searxng import SearxngBackend
from agents.sources.search.tavily import TavilyBackend
from bench.research_peers import (
    ARTICLES,
    Peer,
    Response,
    brave_page,
    page,
    running_peer,
    searxng_page,
    serve_company_site,
    tavily_page,
)
from tests.research.support import (
    WORKSPACE,
    ClaimWriter,
    Models,
    QuotingResearcher,
    make_deps,
    of_type,
    request,
    run_job,
)
from tests.support.scripted_llm import ScriptedLLM

PLAN = {
    "questions": [
        "How much do logistics firms save with AI route planning?",
        "How does dynamic dispatch use live traffic data for route planning?",
        "What are the risks of AI route planning for mid-size logistics firms?",
    ]
}
INVENTED = "Northwind Freight has successfully implemented AI for route planning."


def use_cases() -> dict[str, Any]:
    return {
        "use_cases": [
            {"title": "Nightly route optimisation", "description": "Machine learning plans "
             "the nightly delivery routes and cuts driven kilometres.", "business_value":
             "Fewer kilometres and lower fuel costs", "implementation": "Pilot on one depot",
             "evidence": [2, 3], "cost": "low", "risk": "low", "fit": "strong",
             "estimated_roi": "12% fewer kilometres", "roi_basis": "survey of regional "
             "carriers [2]"},
            {"title": "Dynamic dispatch", "description": "Replan delivery routes every 15 "
             "minutes from live traffic data.", "business_value": "Higher on-time rates",
             "implementation": "Connect the traffic feed", "evidence": [4], "cost": "medium",
             "risk": "medium", "fit": "partial", "estimated_roi": "", "roi_basis": ""},
            {"title": "Driver chat assistant", "description": "A chatbot answers drivers' "
             "questions about payroll.", "business_value": "Less time on the phone",
             "implementation": "Buy a chatbot", "evidence": [], "cost": "high",
             "risk": "high", "fit": "weak", "estimated_roi": "50%", "roi_basis": ""},
        ]
    }  # fmt: skip


@pytest.fixture
def web() -> Iterator[Peer]:
    for peer in running_peer():
        peer.answer("/robots.txt", Response(404, "", content_type="text/plain"))
        for path, (title, paras) in ARTICLES.items():
            peer.answer(path, Response(body=page(title, paras), content_type="text/html"))
        yield peer


@pytest.fixture
def api() -> Iterator[Peer]:
    yield from running_peer()


@pytest.fixture
def company() -> Iterator[Peer]:
    for peer in running_peer():
        yield serve_company_site(peer)


@pytest.fixture
def searx(web: Peer) -> Iterator[Peer]:
    route, dispatch = (
        ARTICLES["/articles/route-optimisation"],
        ARTICLES["/articles/dynamic-dispatch"],
    )
    hits = [
        (web.url + "/articles/route-optimisation?utm_source=searx", route[0], "snippet"),
        (web.url + "/articles/dynamic-dispatch", dispatch[0], "snippet"),
        (web.url + "/articles/route-optimisation", "Duplicate", "snippet"),
        (web.url + "/articles/gone", "Gone", "An old page that is no longer there."),
    ]  # fmt: skip
    followup = [
        (web.url + "/articles/planning-costs", ARTICLES["/articles/planning-costs"][0], "s")
    ]
    for peer in running_peer():
        peer.answer("/search", Response(body=searxng_page(hits)))
        peer.answer("/followup/search", Response(body=searxng_page(followup)))
        yield peer


def models(*, followups: list[list[str]] | None = None) -> Models:
    return Models(
        planner=ScriptedLLM().enqueue(PLAN),
        researcher=QuotingResearcher(invent=True, followups=followups or []),
        writer=ClaimWriter(extra=INVENTED),
        analyst=ClaimWriter().enqueue(use_cases()),
    )


class FollowupRouter(SearxngBackend):
    """The same SearXNG peer; follow-up queries (about costs) are served from its other path,
    so the test can tell round-2 searches apart."""

    async def search(self, query: str, *, count: int) -> list:
        base = self.base_url
        if "cost" in query.lower():
            self.base_url = base + "/followup"
        try:
            return await super().search(query, count=count)
        finally:
            self.base_url = base


Builder = Callable[[httpx.AsyncClient], SearchBackend]


def run(
    tmp_path: Path, m: Models, searx_url: str | None, company_url: str,
    *, backend: Builder | None = None,
) -> list[Any]:  # fmt: skip
    async def go() -> list[Any]:
        async with httpx.AsyncClient(trust_env=False) as client:
            backends: list[SearchBackend] = []
            limits = CallLimits(timeout=5, retry_backoff=0)
            if searx_url:
                backends = [FollowupRouter(client, searx_url, limits=limits)]
            if backend is not None:
                backends = [backend(client)]
            sources = default_sources(
                m.registry(), http_client=client, corpus_dir=None,
                fetch_policy=FetchPolicy(allow_private=True, timeout=5.0),
                search_backends=backends, read_policy=ReadPolicy(delay=0.0), site_pages=3,
            )  # fmt: skip
            deps = make_deps(m, tmp_path, sources=sources)
            req = request(
                prompt="How mid-size logistics firms use AI for route planning",
                company_name="Northwind Freight", company_url=company_url,
            )  # fmt: skip
            return await run_job(deps, req)

    return asyncio.run(go())


def report_of(events: list[Any], step: str) -> str:
    return "".join(c.data.chunk for c in of_type(events, "stream_chunk") if c.data.step == step)


def test_a_searxng_job_searches_reads_and_cites_the_pages(
    tmp_path: Path, web: Peer, company: Peer, searx: Peer
) -> None:
    m = models(followups=[["AI route planning software licence cost per vehicle"]])
    events = run(tmp_path, m, searx.url, company.url + "/")
    assert events[-1].type == "complete", events[-1]
    statuses = [e.message for e in of_type(events, "status")]
    assert any(s.startswith("Searching the web with searxng") for s in statuses)

    # Searched: the three questions, then the follow-up; pages read once each.
    asked = [r.query["q"][0] for r in searx.requests]
    assert set(PLAN["questions"]) <= set(asked)
    assert any("licence cost" in q for q in asked)
    assert len(web.hits("/articles/route-optimisation")) == 1
    assert len(web.hits("/articles/planning-costs")) == 1
    rounds = [e.message for e in of_type(events, "multiagent_progress") if "round 2/2" in e.message]
    assert rounds, "the follow-up round is reported"

    report = report_of(events, "writing")
    body, _, rest = report.partition("## Method")
    # Every factual paragraph of the body cites (advice may not); the invented company
    # sentence is gone.
    factual = body.split("## Recommendations")[0]
    for para in factual.split("\n\n")[1:]:
        text = para.strip()
        meta = text.startswith("*") and text.endswith("*")  # what was found, not a finding
        if text and not text.startswith("#") and not meta:
            assert re.search(r"\[\d+\]", text), text
    assert INVENTED not in report
    discovery = report_of(events, "analysis").split("## Sources")[0]
    for text in (body, discovery):
        sentences = [s for s in re.split(r"(?<=\.)\s+", text) if "[" in s]
        assert len(sentences) == len(set(sentences)), "no sentence repeated"

    # Every citation resolves to a page read, listed with title, site, URL and access date.
    section = rest.split("## Sources", 1)[1]
    cited = {int(n) for n in re.findall(r"(?<!\\)\[(\d+)\]", body)}
    assert cited
    for n in cited:
        line = next(ln for ln in section.splitlines() if ln.startswith(f"- \\[{n}\\]"))
        if "(document `" not in line:  # a bundled corpus document, also read
            assert (web.url in line or company.url in line) and "Accessed" in line
    assert f"<{web.url}/articles/route-optimisation>" in section  # canonical, tracking dropped

    # The sidecar: per citation the URL and quotes that are in the page it names.
    root = tmp_path / "artifacts" / WORKSPACE / events[-1].project_id
    sidecar = json.loads((root / "citations.json").read_text())
    by_n = {c["n"]: c for c in sidecar["citations"]}
    assert cited <= set(by_n)
    pages = {web.url + p: " ".join(paras) for p, (_, paras) in ARTICLES.items()}
    for n in cited:
        entry = by_n[n]
        assert entry["claims"] and (entry["url"] or entry["document"])
        if entry["url"] in pages:
            for claim in entry["claims"]:
                assert claim["quote"] in pages[entry["url"]]
    assert sidecar["claims_dropped"] >= 3 and sidecar["providers"][0] == "searxng"

    # The writer is shown only sources a kept claim comes from, and the company's pages.
    prompt = m.writer.requests[0].messages[-1].content
    notes, _, listing = prompt.partition("Source list:\n")
    noted = {int(n) for n in re.findall(r"\[(\d+)\]", notes)}
    listed = dict(re.findall(r"^\[(\d+)\] (.+)$", listing, re.M))
    company_titles = {"Northwind Freight", "About Northwind Freight", "Route planning services",
                      "Careers"}  # fmt: skip
    assert listed and noted
    for n, title in listed.items():
        assert int(n) in noted or title in company_titles, (n, title)
    assert any(s.startswith("Claims: ") and "cites no source" in s for s in statuses)

    # Use-case scores differ, each with its reason; unsupported ROI is not estimated.
    (done,) = of_type(events, "use_cases_complete")
    scores = [(u.impact_score, u.alignment_score) for u in done.use_cases]
    assert len(set(scores)) == 3
    assert done.use_cases[2].estimated_roi == "not estimated"
    uc_md = (root / "use_cases.md").read_text()
    assert "## How the scores were given" in uc_md and "Impact Low" in uc_md


def test_the_job_goes_on_when_the_search_provider_fails(tmp_path: Path, company: Peer) -> None:
    for broken in running_peer():
        broken.answer("/search", Response(503, "down", content_type="text/plain"))
        events = run(tmp_path, models(), broken.url, company.url + "/")
    assert events[-1].type == "complete"
    statuses = [e.message for e in of_type(events, "status")]
    assert any("Source searxng failed" in s and "503" in s for s in statuses)
    report = report_of(events, "writing")
    assert company.url in report.split("## Sources", 1)[1]  # the company pages still serve


def test_without_a_provider_the_job_says_so_and_uses_the_corpus(tmp_path: Path) -> None:
    for dead in running_peer():
        dead.answer("/", Response(500, "x", content_type="text/html"))
        dead.answer("/robots.txt", Response(404, ""))
        events = run(tmp_path, models(), None, dead.url + "/")
    assert events[-1].type == "complete"
    statuses = [e.message for e in of_type(events, "status")]
    assert any("No web search provider is configured" in s for s in statuses)
    assert any("company website could not be read" in s for s in statuses)
    report = report_of(events, "writing")
    assert "could not be read; this report speaks of the sector" in report


@pytest.mark.parametrize("name", ["tavily", "brave"])
def test_tavily_and_brave_jobs_cite_the_pages_their_results_point_at(
    tmp_path: Path, web: Peer, company: Peer, api: Peer, name: str
) -> None:
    hits = [(web.url + p, title, "snippet") for p, (title, _) in ARTICLES.items()]
    base = api.url
    if name == "tavily":
        api.answer("/search", Response(body=tavily_page(hits)))

        def build(c: httpx.AsyncClient) -> SearchBackend:
            return TavilyBackend(c, "tvly-k", base_url=base)
    else:
        api.answer("/res/v1/web/search", Response(body=brave_page(hits, more=False)))

        def build(c: httpx.AsyncClient) -> SearchBackend:
            return BraveBackend(c, "brave-k", base_url=base)

    events = run(tmp_path, models(), None, company.url + "/", backend=build)
    assert api.requests, "the search API was asked"
    assert events[-1].type == "complete"
    statuses = [e.message for e in of_type(events, "status")]
    assert any(s.startswith(f"Searching the web with {name}") for s in statuses)
    report = report_of(events, "writing")
    rest = report.partition("## Method")[2]
    section = rest.split("## Sources", 1)[1]
    cited_pages = [ln for ln in section.splitlines() if f"<{web.url}/articles/" in ln]
    assert cited_pages and all("Accessed" in ln for ln in cited_pages)
    assert f"Sources searched: {name}" in rest
