"""The fetch provider (through agents.netsafe against a loopback server) and model web search."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from agents.llm.port import Capabilities, SearchHit
from agents.netsafe import FetchedDocument, FetchPolicy
from agents.sources.base import JobSources, SourceQuery
from agents.sources.fetch import FetchProvider, document_text
from agents.sources.web_search import ModelWebSearchProvider
from tests.research.support import WebSearchLLM
from tests.sources.test_corpus import minimal_pdf
from tests.support.scripted_llm import Reply, ScriptedLLM

PAGES: dict[str, tuple[int, str, bytes]] = {
    "/": (200, "text/html; charset=utf-8", b"<title>Acme</title><p>Acme makes rockets.</p>"),
    "/plain": (200, "text/plain", b"Plain facts about Acme."),
    "/doc.pdf": (200, "application/pdf", minimal_pdf("Annual report of Acme")),
    "/missing": (404, "text/html", b"<p>Not here</p>"),
    "/image": (200, "image/png", b"\x89PNG...."),
}


class _Site(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, ctype, body = PAGES.get(self.path, (404, "text/plain", b"no"))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def fetch_job(base_policy: FetchPolicy, company_url: str, *urls: str) -> tuple[list, list[str]]:
    async def go() -> tuple[list, list[str]]:
        async with httpx.AsyncClient(trust_env=False) as client:
            provider = FetchProvider(client, policy=base_policy)
            result = await provider.for_job(JobSources("t", "Acme", company_url, urls=urls))
            return list(result.sources), list(result.notices)

    return asyncio.run(go())


def test_private_address_is_blocked_with_a_notice(site: str) -> None:
    """The default policy refuses loopback: no source, a notice naming the URL."""
    sources, notices = fetch_job(FetchPolicy(), site + "/")
    assert sources == []
    assert len(notices) == 1 and site in notices[0] and "blocked" in notices[0]


def test_html_text_and_pdf_pages_become_sources(site: str) -> None:
    """Allowed fetches are converted to text by content type; failures are notices."""
    policy = FetchPolicy(allow_private=True)
    sources, notices = fetch_job(
        policy, site + "/", site + "/plain", site + "/doc.pdf", site + "/missing"
    )
    by_url = {s.url: s for s in sources}
    assert by_url[site + "/"].title == "Acme" and by_url[site + "/"].text == "Acme makes rockets."
    assert by_url[site + "/plain"].text == "Plain facts about Acme."
    assert "Annual report of Acme" in by_url[site + "/doc.pdf"].text
    assert all(s.kind == "page" for s in sources)
    assert any("HTTP 404" in n and "/missing" in n for n in notices)


def test_unreachable_url_is_a_notice_not_an_error() -> None:
    """A closed port fails the fetch; the provider reports it and returns no source."""
    sources, notices = fetch_job(FetchPolicy(allow_private=True, timeout=5), "http://127.0.0.1:9/")
    assert sources == [] and "Could not fetch http://127.0.0.1:9/" in notices[0]


def test_binary_content_gives_no_text() -> None:
    """An image has no readable text."""
    doc = FetchedDocument("u", "u", 200, "image/png", b"\x89PNG")
    assert document_text(doc) == ("", "")


def test_web_search_provider_returns_hits_as_sources() -> None:
    """The request asks for web search; hits (deduplicated, capped) become web sources."""
    llm = WebSearchLLM(
        capabilities=Capabilities(web_search=True),
        fallback=Reply(text="Summary of results."),
        hits=(
            SearchHit("https://a.example/1", "A", "snippet a"),
            SearchHit("https://a.example/1", "A again", "dup"),
            SearchHit("https://b.example/2", "B", "snippet b"),
            SearchHit("https://c.example/3", "C", "snippet c"),
        ),
    )
    provider = ModelWebSearchProvider(llm, max_uses=2)
    query = SourceQuery(question="AI in banks?", topic="AI", company_name="Acme", max_sources=2)
    result = asyncio.run(provider.search(query))
    assert [s.url for s in result.sources] == ["https://a.example/1", "https://b.example/2"]
    assert result.sources[0].text.startswith("snippet a")
    assert "Summary of results." in result.sources[0].text
    assert llm.requests[0].web_search is not None and llm.requests[0].web_search.max_uses == 2
    assert result.usage.output_tokens > 0


def test_web_search_is_a_no_op_without_the_capability() -> None:
    """A model without web search is never called and says it is not used."""
    llm = ScriptedLLM()
    provider = ModelWebSearchProvider(llm)
    query = SourceQuery(question="q", topic="t", company_name="c")
    assert asyncio.run(provider.search(query)).sources == ()
    notices = asyncio.run(provider.for_job(JobSources("t", "c", ""))).notices
    assert "no web search" in notices[0]
    assert llm.requests == []
