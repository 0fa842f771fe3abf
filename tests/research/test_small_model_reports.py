"""Reports a reader can trust when the model is small: the scripted models here answer the way
the embedded 1.5B model did (issue 15) — prose with no [n] that states things about the company
no source said, advice citing every source it was shown ([1-20]), and the same cost / risk /
fit for every use case. The report must still cite in every factual paragraph (composed from
the kept claims), every [n] must resolve to a page the job read with its quotes in the sidecar,
nothing may be said about the company without a source from its own site, and the use-case
scores must differ with a reason each.

The researcher picks sentence ids (extractive claims); a loopback SearXNG-format server returns
results pointing at loopback pages; the company site is a loopback website (or a closed port)."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from agents.llm.port import CompletionRequest, LLMEvent
from agents.research.claims import quote_found
from agents.sources.corpus import SAMPLE_CORPUS_DIR, read_document
from agents.sources.search.base import SearchBackend
from agents.sources.search.brave import BraveBackend
from agents.sources.search.tavily import TavilyBackend
from bench.research_peers import (
    ABOUT,
    CAREERS,
    HOME,
    SERVICES,
    Peer,
    Response,
    brave_page,
    page,
    running_peer,
    searxng_page,
    serve_company_site,
    tavily_page,
)
from tests.research.support import WORKSPACE, Models, QuotingResearcher, of_type
from tests.research.test_web_research import ARTICLES, PLAN, report_of, run
from tests.support.scripted_llm import Reply, ScriptedLLM

COMPANY = "Northwind Freight"


@pytest.fixture
def web() -> Iterator[Peer]:
    """The article pages the search results point at."""
    for peer in running_peer():
        peer.answer("/robots.txt", Response(404, "", content_type="text/plain"))
        for path, (title, paras) in ARTICLES.items():
            peer.answer(path, Response(body=page(title, paras), content_type="text/html"))
        yield peer


@pytest.fixture
def site() -> Iterator[Peer]:
    """The company's website."""
    for peer in running_peer():
        yield serve_company_site(peer)


@pytest.fixture
def searx(web: Peer) -> Iterator[Peer]:
    """A SearXNG-format server whose results are the article pages."""
    hits = [(web.url + path, title, "snippet") for path, (title, _) in ARTICLES.items()]
    for peer in running_peer():
        peer.answer("/search", Response(body=searxng_page(hits)))
        peer.answer("/followup/search", Response(body=searxng_page(hits)))
        yield peer


@pytest.fixture
def api() -> Iterator[Peer]:
    """A Tavily- or Brave-format search API."""
    yield from running_peer()


@pytest.fixture
def closed_port() -> str:
    """A loopback URL nothing listens on (the company site is unreachable)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


SMALL_REPORT = (
    "## Executive Summary\nNorthwind Freight has successfully implemented AI for route "
    "planning. Route planning with AI is changing the logistics industry quickly.\n\n"
    "## Market Analysis\nThe market is growing and many vendors compete for customers.\n\n"
    "## Key Findings\n- Northwind Freight reduced its fuel costs by a third.\n"
    "- AI helps planners make better decisions every day.\n\n"
    "## Recommendations\n- Northwind Freight should roll out AI route planning to every "
    "depot.\n- Start with a pilot on one depot [1-20].\n"
)
SMALL_DISCOVERY = (
    "## Company Context\nNorthwind Freight is the market leader in AI logistics.\n\n"
    "## AI Opportunities\n- Northwind Freight can cut delivery times in half with AI.\n"
    "- Dynamic dispatch could raise on-time rates.\n\n"
    "## Roadmap\n- Northwind Freight will be fully automated by next year.\n"
    "- Run a pilot first [1-20].\n"
)


def same_ratings() -> dict[str, Any]:
    """Three use cases rated identically (as the small model did), different in substance."""
    same = {"cost": "medium", "risk": "medium", "fit": "strong", "evidence": [1, 2]}
    return {
        "use_cases": [
            same | {"title": "Nightly route optimisation", "description": "Machine learning "
                    "plans the nightly delivery routes and cuts driven kilometres.",
                    "business_value": "Fewer kilometres driven and lower fuel spend",
                    "implementation": "Pilot the software on one depot", "estimated_roi":
                    "5-10%", "roi_basis": ""},
            same | {"title": "Dynamic dispatch", "description": "Replan delivery routes every "
                    "15 minutes from live traffic and order data.", "business_value":
                    "Higher on-time delivery rates", "implementation": "Connect the live "
                    "traffic feed", "estimated_roi": "5-10%", "roi_basis": "on-time rates rose "
                    "to 96 percent [4]"},
            same | {"title": "Payroll chatbot", "description": "A chatbot answers questions "
                    "about holidays and payslips.", "business_value": "Fewer calls to HR",
                    "implementation": "Buy a chatbot", "estimated_roi": "5-10%",
                    "roi_basis": ""},
        ]
    }  # fmt: skip


@dataclass
class SmallProse(ScriptedLLM):
    """Answers every prose request with `text` (whatever was asked); structured requests get
    the scripted replies."""

    text: str = ""

    async def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        if request.json_schema is None:
            self.replies.appendleft(Reply(text=self.text, chunk_size=13))
        async for event in super().stream(request):
            yield event


def small_models() -> Models:
    return Models(
        planner=ScriptedLLM().enqueue(PLAN),
        researcher=QuotingResearcher(invent=True),
        writer=SmallProse(text=SMALL_REPORT),
        analyst=SmallProse(text=SMALL_DISCOVERY).enqueue(same_ratings()),
    )


_CITE = re.compile(r"(?<!\\)\[(\d+)\]")
_SENTENCE = re.compile(r"(?<=[.!?])(?:\s*\[\d+\])*\s+")


def paragraphs(markdown: str) -> list[str]:
    """Body paragraphs and list items that are neither headings nor italic meta lines."""
    out = []
    for block in markdown.split("\n\n"):
        for line in block.strip().splitlines() if block.lstrip().startswith("-") else [block]:
            text = line.strip()
            if text and not text.startswith("#") and not (text[0] == "*" == text[-1]):
                out.append(text)
    return out


def company_sentences(markdown: str) -> list[tuple[str, set[int]]]:
    found = []
    for para in paragraphs(markdown):
        for sentence in _SENTENCE.split(para):
            if COMPANY.lower() in sentence.lower():
                found.append((sentence, {int(n) for n in _CITE.findall(sentence)}))
    return found


def served_pages(web: Peer, site: Peer | None) -> dict[str, str]:
    pages = {web.url + p: " ".join(paras) for p, (_, paras) in ARTICLES.items()}
    if site is not None:
        for path, paras in (
            ("/", HOME),
            ("/about-us", ABOUT),
            ("/services/route-planning", SERVICES),
            ("/careers", CAREERS),
        ):
            pages[site.url + path] = " ".join(paras)  # fmt: skip
    return pages


def check_job(tmp_path: Path, events: list[Any], web: Peer, site: Peer | None) -> dict[str, Any]:
    """The assertions every job must pass; returns the stored files for more."""
    assert events[-1].type == "complete", events[-1]
    root = tmp_path / "artifacts" / WORKSPACE / events[-1].project_id
    sidecar = json.loads((root / "citations.json").read_text())
    by_n = {c["n"]: c for c in sidecar["citations"]}
    pages = served_pages(web, site)
    company_pages = {c["n"] for c in sidecar["citations"] if c["company_page"]}
    report = report_of(events, "writing")
    body = report.partition("## Method")[0]
    discovery = report_of(events, "analysis").partition("## Sources")[0]

    # Every factual paragraph cites (the advisory sections may not); the body is not empty.
    factual = body.partition("## Recommendations")[0].partition("## Executive Summary")[2]
    facts = paragraphs(factual)
    assert facts, "the report body has findings"
    for para in facts:
        assert _CITE.search(para), para
    for heading in ("Executive Summary", "Market Analysis", "Key Findings", "Recommendations"):
        assert f"## {heading}" in body
    for question in PLAN["questions"]:
        assert f"### {question}" in body

    # Every [n] of both reports resolves to a page read (or a corpus document), with quotes
    # the page (document) really has.
    cited = {int(n) for text in (body, discovery) for n in _CITE.findall(text)}
    assert cited
    for n in cited:
        entry = by_n[n]
        assert entry["claims"], n
        if entry["url"] is not None:
            assert entry["url"] in pages, entry["url"]
            for claim in entry["claims"]:
                assert claim["quote"] in pages[entry["url"]], claim["quote"]
        else:
            assert entry["document"]

    # Nothing about the company that no company source said.
    allowed = company_pages | {
        c["n"] for c in sidecar["citations"]
        if any(COMPANY.lower() in q["quote"].lower() for q in c["claims"])
    }  # fmt: skip
    for text in (body, discovery):
        for sentence, numbers in company_sentences(text):
            assert numbers & allowed, sentence

    # Scores from the rubric differ, each with its reason.
    (done,) = of_type(events, "use_cases_complete")
    scores = [(u.impact_score, u.alignment_score) for u in done.use_cases]
    assert len(set(scores)) >= 2, scores
    uc_md = (root / "use_cases.md").read_text()
    reasons = uc_md.partition("## How the scores were given")[2]
    for uc in done.use_cases:
        assert re.search(rf"\*\*\d\. {re.escape(uc.title)}:\*\* Impact \w+ \(\d/7\)", reasons)
    assert done.use_cases[0].estimated_roi == "not estimated"  # no basis given
    return {"sidecar": sidecar, "body": body, "discovery": discovery, "use_cases": done}


@pytest.mark.parametrize("provider", ["searxng", "tavily", "brave"])
def test_small_model_reports_cite_and_say_nothing_unsourced_about_the_company(
    tmp_path: Path, web: Peer, site: Peer, searx: Peer, api: Peer, provider: str
) -> None:
    hits = [(web.url + path, title, "snippet") for path, (title, _) in ARTICLES.items()]
    build: Any = None
    if provider == "tavily":
        api.answer("/search", Response(body=tavily_page(hits)))

        def build(c: httpx.AsyncClient) -> SearchBackend:
            return TavilyBackend(c, "tvly-k", base_url=api.url)
    elif provider == "brave":
        api.answer("/res/v1/web/search", Response(body=brave_page(hits, more=False)))

        def build(c: httpx.AsyncClient) -> SearchBackend:
            return BraveBackend(c, "brave-k", base_url=api.url)

    searx_url = searx.url if provider == "searxng" else None
    events = run(tmp_path, small_models(), searx_url, site.url + "/", backend=build)
    statuses = [e.message for e in of_type(events, "status")]
    assert any(s.startswith(f"Searching the web with {provider}") for s in statuses)
    out = check_job(tmp_path, events, web, site)
    assert "has successfully implemented AI" not in out["body"] + out["discovery"]
    assert "fully automated" not in out["discovery"]
    # The Company Context comes from the company's own pages.
    context = out["discovery"].partition("## Company Context")[2].partition("##")[0]
    assert any(n in {c["n"] for c in out["sidecar"]["citations"] if c["company_page"]}
               for n in map(int, _CITE.findall(context)))  # fmt: skip
    # The use case the claims speak of ranks above the one nothing supports.
    by_title = {u.title: u for u in out["use_cases"].use_cases}
    order = {"Low": 0, "Medium": 1, "High": 2}
    assert (
        order[by_title["Nightly route optimisation"].impact_score]
        > order[by_title["Payroll chatbot"].impact_score]
    )
    assert any("without a company source" in s for s in statuses)


def test_with_the_company_site_unreachable_the_reports_speak_of_the_sector(
    tmp_path: Path, web: Peer, searx: Peer, closed_port: str
) -> None:
    events = run(tmp_path, small_models(), searx.url, closed_port)
    out = check_job(tmp_path, events, web, None)
    assert "could not be read" in out["discovery"].partition("## Company Context")[2]
    assert not company_sentences(out["body"]) and not company_sentences(out["discovery"])
    assert all(not c["company_page"] for c in out["sidecar"]["citations"])
    assert "fit not assessed" in " ".join(out["sidecar"]["use_case_scoring"].values())


def test_offline_on_the_bundled_corpus_the_reports_cite_corpus_documents(
    tmp_path: Path, closed_port: str
) -> None:
    """No search provider, no company site: the sample corpus answers, cited by document."""
    events = run(tmp_path, small_models(), None, closed_port)
    assert events[-1].type == "complete", events[-1]
    root = tmp_path / "artifacts" / WORKSPACE / events[-1].project_id
    sidecar = json.loads((root / "citations.json").read_text())
    body = report_of(events, "writing").partition("## Method")[0]
    facts = paragraphs(body.partition("## Recommendations")[0].partition("## Executive Summary")[2])
    assert facts and all(_CITE.search(p) for p in facts), facts
    texts = {}
    for path in SAMPLE_CORPUS_DIR.iterdir():
        doc = read_document(path, SAMPLE_CORPUS_DIR)
        if doc is not None:
            texts[doc.doc_id] = doc.text
    by_n = {c["n"]: c for c in sidecar["citations"]}
    for n in {int(n) for n in _CITE.findall(body)}:
        entry = by_n[n]
        assert entry["document"] in texts and entry["claims"]
        for claim in entry["claims"]:
            assert quote_found(claim["quote"], texts[entry["document"]]), claim["quote"]
    assert not company_sentences(body)


INVENTED_FACT = "Northwind Freight already runs 600 electric trucks from 12 depots."
INVENTED_SAVING = "Northwind Freight saved 2 million dollars with AI last year."
_PROFILE_PAGE = re.compile(r"About the company \(from its website, cite as \[n\]\):\n\[(\d+)\]")


@dataclass
class InventingAnalyst(SmallProse):
    """The small model's analyst, whose use cases state facts about the company that no source
    gave (uncited) beside one fact from the company's own site that cites that page."""

    sourced: list[str] | None = None  # the sourced sentence it wrote, once known

    async def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        if request.schema_name == "use_cases":
            found = _PROFILE_PAGE.search(request.messages[-1].content)
            answer = same_ratings()
            first, second = answer["use_cases"][0], answer["use_cases"][1]
            first["description"] += f" {INVENTED_FACT}"
            first["business_value"] = f"{INVENTED_SAVING} {first['business_value']}."
            first["roi_basis"] = INVENTED_SAVING
            if found:
                sentence = (
                    f"Northwind Freight plans about 900 delivery routes every night [{found[1]}]."
                )
                self.sourced = [sentence]
                second["description"] += f" {sentence}"
            self.replies.appendleft(Reply(text=json.dumps(answer), structured=answer))
            async for event in ScriptedLLM.stream(self, request):
                yield event
            return
        async for event in super().stream(request):
            yield event


def test_use_cases_carry_no_company_fact_that_no_source_gave(
    tmp_path: Path, web: Peer, site: Peer, searx: Peer
) -> None:
    """The analyst writes invented facts about the company into a use case's description,
    business value and ROI basis: none reaches the use-case event, the stored files or the
    project; a company fact citing the company's own page stays."""
    analyst = InventingAnalyst(text=SMALL_DISCOVERY)
    models = small_models()
    models.analyst = analyst
    events = run(tmp_path, models, searx.url, site.url + "/")
    assert events[-1].type == "complete", events[-1]
    root = tmp_path / "artifacts" / WORKSPACE / events[-1].project_id
    (done,) = of_type(events, "use_cases_complete")
    stored = {
        name: (root / name).read_text() for name in ("use_cases.md", "report.md", "citations.json")
    }
    shown = json.dumps([u.model_dump() for u in done.use_cases])
    for text in (shown, *stored.values()):
        assert "600 electric trucks" not in text
        assert "2 million dollars" not in text
    by_title = {u.title: u for u in done.use_cases}
    route = by_title["Nightly route optimisation"]
    assert route.description.startswith("Machine learning plans the nightly delivery routes")
    assert route.business_value == "Fewer kilometres driven and lower fuel spend."
    assert route.estimated_roi == "not estimated"  # its only basis was the invented saving
    assert analyst.sourced, "the site was read and the analyst shown its pages"
    assert analyst.sourced[0] in by_title["Dynamic dispatch"].description
    assert analyst.sourced[0] in stored["use_cases.md"]
    statuses = [e.message for e in of_type(events, "status")]
    assert "use_cases: dropped 3 sentence(s) about the company without a company source" in (
        statuses
    )


def test_a_use_case_left_with_only_unsourced_company_facts_is_not_kept(
    tmp_path: Path, web: Peer, searx: Peer, closed_port: str
) -> None:
    """With the site unreachable no source may speak of the company: a use case whose
    description was nothing but a company fact is dropped, and the model is told why."""
    answer = same_ratings()
    answer["use_cases"][2]["description"] = INVENTED_FACT
    models = small_models()
    models.analyst = SmallProse(text=SMALL_DISCOVERY).enqueue(answer, same_ratings())
    events = run(tmp_path, models, searx.url, closed_port)
    assert events[-1].type == "complete", events[-1]
    repair = models.analyst.requests[-1].messages[-1].content
    assert "use case 3: description only stated facts about the company" in repair
    (done,) = of_type(events, "use_cases_complete")
    assert all("600 electric trucks" not in u.description for u in done.use_cases)
