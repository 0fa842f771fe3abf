"""Reading pages (extraction, robots.txt, politeness, budget) and the company site, against
a loopback website; canonical URLs and duplicate merging."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agents.netsafe import FetchPolicy
from agents.research.citations import SourceRegistry, sources_section
from agents.sources.base import JobSources, Source
from agents.sources.budget import ReadBudget
from agents.sources.canonical import canonical_url, dedupe_key, near_duplicate
from agents.sources.reader import PageReader, ReadPolicy
from agents.sources.site import CompanySiteProvider, rank_site_urls
from bench.research_peers import (
    ABOUT,
    HOME,
    SERVICES,
    Peer,
    Response,
    page,
    running_peer,
    serve_company_site,
)

LOOPBACK = FetchPolicy(allow_private=True, timeout=5.0)
FAST = ReadPolicy(delay=0.0)


@pytest.fixture
def peer() -> Iterator[Peer]:
    yield from running_peer()


@pytest.fixture
def site() -> Iterator[Peer]:
    for peer in running_peer():
        yield serve_company_site(peer)


def with_reader(policy: ReadPolicy, fn: Any, *, fetch: FetchPolicy = LOOPBACK) -> Any:
    async def go() -> Any:
        async with httpx.AsyncClient(trust_env=False) as client:
            return await fn(PageReader(client, fetch_policy=fetch, policy=policy))

    return asyncio.run(go())


def test_main_text_keeps_the_article_and_drops_nav_cookies_and_footer(site: Peer) -> None:
    read = with_reader(FAST, lambda r: r.read(site.url + "/about-us", ReadBudget(), provider="t"))
    src = read.source
    assert src is not None and src.title == "About Northwind Freight"
    assert ABOUT[0] in src.text and ABOUT[1] in src.text
    for boilerplate in ("cookies", "All rights reserved", "Log in", "Privacy policy"):
        assert boilerplate not in src.text
    assert src.author == "Jane Doe" and src.kind == "page" and src.accessed
    assert src.site.startswith("127.0.0.1")


def test_publication_date_is_extracted(site: Peer) -> None:
    url = site.url + "/services/route-planning"
    read = with_reader(FAST, lambda r: r.read(url, ReadBudget(), provider="t"))
    assert read.source is not None and read.source.published == "2026-03-04"
    assert SERVICES[0] in read.source.text


def test_robots_txt_disallow_is_honoured(site: Peer) -> None:
    read = with_reader(
        FAST, lambda r: r.read(site.url + "/private/plans", ReadBudget(), provider="t")
    )
    assert read.source is None and "disallowed by its robots.txt" in (read.notice or "")
    assert site.hits("/private/plans") == []
    assert len(site.hits("/robots.txt")) == 1


def test_robots_can_be_switched_off_by_configuration(site: Peer) -> None:
    policy = ReadPolicy(delay=0.0, respect_robots=False)
    read = with_reader(
        policy, lambda r: r.read(site.url + "/private/plans", ReadBudget(), provider="t")
    )
    assert read.source is not None and site.hits("/robots.txt") == []


@pytest.mark.parametrize(("status", "allowed"), [(404, True), (503, False)])
def test_robots_4xx_allows_and_5xx_disallows(peer: Peer, status: int, allowed: bool) -> None:
    peer.answer("/robots.txt", Response(status, "x", content_type="text/plain"))
    peer.answer(
        "/page", Response(body="<p>Some page text for the test.</p>", content_type="text/html")
    )
    url = peer.url + "/page"
    read = with_reader(FAST, lambda r, url=url: r.read(url, ReadBudget(), provider="t"))
    assert (read.source is not None) is allowed
    assert len(peer.hits("/page")) == (1 if allowed else 0)
    if not allowed:  # says why, not that the rules forbid it (RFC 9309: unreachable = disallow)
        assert "its robots.txt answered HTTP 503" in (read.notice or "")


def test_an_unreachable_site_is_reported_as_unreachable_not_as_disallowed() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/page"
    read = with_reader(FAST, lambda r: r.read(url, ReadBudget(), provider="t"))
    assert read.source is None
    assert "its robots.txt could not be fetched" in (read.notice or "")
    assert "disallowed" not in (read.notice or "")


def test_a_page_is_fetched_once_per_job(site: Peer) -> None:
    async def twice(reader: PageReader) -> list[Any]:
        budget = ReadBudget()
        url = site.url + "/about-us"
        return list(
            await asyncio.gather(
                reader.read(url, budget, provider="a"),
                reader.read(url + "#team", budget, provider="b"),
            )
        )

    first, second = with_reader(FAST, twice)
    assert first.source is not None and second.source == first.source
    assert len(site.hits("/about-us")) == 1


def test_the_page_budget_refuses_further_pages(site: Peer) -> None:
    async def three(reader: PageReader) -> tuple[list[Any], ReadBudget]:
        budget = ReadBudget(max_pages=2)
        out = [await reader.read(site.url + p, budget, provider="t")
               for p in ("/", "/about-us", "/careers")]  # fmt: skip
        return out, budget

    reads, budget = with_reader(FAST, three)
    assert [r.source is not None for r in reads] == [True, True, False]
    assert "budget" in (reads[2].notice or "") and budget.refused == 1
    assert site.hits("/careers") == []


def test_the_byte_budget_cuts_a_page_off(site: Peer) -> None:
    read = with_reader(
        FAST, lambda r: r.read(site.url + "/about-us", ReadBudget(max_bytes=300), provider="t")
    )
    assert read.source is None and "limit" in (read.notice or "")


def test_one_host_gets_one_fetch_at_a_time_with_the_politeness_delay(peer: Peer) -> None:
    peer.answer("/robots.txt", Response(404, "", content_type="text/plain"))
    for i in range(3):
        peer.answer(f"/p{i}", Response(body=f"<p>Page number {i} with some text.</p>",
                                       content_type="text/html", delay=0.05))  # fmt: skip
    policy = ReadPolicy(per_host=1, delay=0.15)

    base = peer.url

    async def all_three(reader: PageReader) -> None:
        budget = ReadBudget()
        await asyncio.gather(*(reader.read(f"{base}/p{i}", budget, provider="t") for i in range(3)))

    with_reader(policy, all_three)
    pages = sorted(r.at for r in peer.requests if r.path.startswith("/p"))
    assert peer.peak == 1
    assert all(b - a >= 0.15 for a, b in itertools.pairwise(pages))


def test_loopback_pages_stay_blocked_by_the_default_fetch_policy(site: Peer) -> None:
    read = with_reader(
        FAST, lambda r: r.read(site.url + "/", ReadBudget(), provider="t"), fetch=FetchPolicy()
    )
    assert read.source is None and "blocked" in (read.notice or "")
    assert site.requests == []


def company(site_url: str, *, max_pages: int = 3, budget: ReadBudget | None = None) -> Any:
    async def go(reader: PageReader) -> Any:
        provider = CompanySiteProvider(reader, max_pages=max_pages)
        job = JobSources(
            "AI route planning", "Northwind Freight", site_url, budget=budget or ReadBudget()
        )
        return await provider.for_job(job)

    return with_reader(FAST, go)


def test_the_company_site_reads_home_sitemap_and_the_business_pages(site: Peer) -> None:
    result = company(site.url + "/")
    titles = [s.title for s in result.sources]
    assert titles[0] == "Northwind Freight"
    assert set(titles[1:]) == {"About Northwind Freight", "Route planning services", "Careers"}
    assert all(s.company for s in result.sources)
    assert HOME[0] in result.sources[0].text
    assert site.hits("/privacy") == [] and site.hits("/private/plans") == []
    assert result.notices[0].startswith("Read 4 page(s) of the company website")


def test_an_unreadable_company_site_is_said_so(peer: Peer) -> None:
    peer.answer("/robots.txt", Response(404, ""))
    peer.answer("/", Response(500, "oops", content_type="text/html"))
    result = company(peer.url + "/")
    assert result.sources == []
    assert "could not be read" in result.notices[0]


def test_site_urls_are_ranked_by_what_they_say_about_the_business() -> None:
    home = "https://acme.example/"
    urls = [f"https://acme.example{p}" for p in (
        "/blog/2024/01/post", "/careers", "/privacy", "/products/widgets", "/about",
        "/img/logo.png", "/industries/retail", "/search?q=x",
    )] + ["https://other.example/about"]  # fmt: skip
    ranked = rank_site_urls(urls, home, limit=4)
    assert ranked == [
        "https://acme.example/about",
        "https://acme.example/products/widgets",
        "https://acme.example/industries/retail",
        "https://acme.example/blog/2024/01/post",
    ]


def test_canonical_urls_fold_spellings_of_one_page() -> None:
    assert (
        canonical_url("HTTPS://Example.COM:443/a/?utm_source=x&b=2&a=1#top")
        == "https://example.com/a?a=1&b=2"
    )
    assert canonical_url("http://example.com") == "http://example.com/"
    assert dedupe_key("http://www.example.com/a/") == dedupe_key("https://example.com/a")
    assert canonical_url("https://example.com/a?id=3") != canonical_url(
        "https://example.com/a?id=4"
    )


def _page(url: str, text: str, kind: str = "page") -> Source:
    return Source(ref=canonical_url(url), title=url, text=text, kind=kind, url=url)  # type: ignore[arg-type]


def test_the_registry_merges_duplicates_and_near_duplicates() -> None:
    body = " ".join(ABOUT + SERVICES)
    registry = SourceRegistry()
    a = registry.add(_page("https://news.example/story?utm_campaign=x", body))
    b = registry.add(_page("https://www.news.example/story/", body))
    c = registry.add(_page("https://mirror.example/copy", body + " Share this story."))
    d = registry.add(_page("https://other.example/", " ".join(HOME) * 3))
    assert a == b == c and d == 2 and registry.merged == 2
    assert near_duplicate(body, body + " Share this story.")


def test_a_snippet_is_replaced_by_the_page_read_in_full() -> None:
    registry = SourceRegistry()
    n = registry.add(_page("https://x.example/a", "short snippet", kind="web"))
    m = registry.add(_page("https://x.example/a", " ".join(ABOUT), kind="page"))
    assert n == m and registry.get(n).kind == "page"


def test_the_sources_section_lists_title_site_url_and_access_date() -> None:
    src = Source(ref="https://x.example/a", title="A page", text="t", kind="page",
                 url="https://x.example/a", site="x.example", accessed="2026-12-01")  # fmt: skip
    section = sources_section([(1, src)])
    assert "- \\[1\\] A page. x.example. <https://x.example/a> Accessed 2026-12-01." in section


def test_a_page_read_by_an_earlier_job_is_read_again(site: Peer) -> None:
    """Extraction keeps no process-wide memory of texts seen (trafilatura's deduplication)."""

    async def two_jobs(reader: PageReader) -> list[Any]:
        url = site.url + "/about-us"
        return [await reader.read(url, ReadBudget(), provider="t") for _ in range(6)]

    reads = with_reader(FAST, two_jobs)
    assert all(r.source is not None and "cookies" not in r.source.text for r in reads)
    assert len(site.hits("/about-us")) == 6


def test_gzipped_sitemaps_and_a_sitemap_index_are_read(peer: Peer) -> None:
    """robots.txt names a sitemap index whose entry is a gzipped sitemap (`.xml.gz`, sent as
    application/gzip, as servers do); the page only that sitemap lists is read."""
    base = peer.url
    index = (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{base}/sitemap-pages.xml.gz</loc></sitemap></sitemapindex>"
    )
    urlset = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{base}/industries/retail-logistics</loc></url></urlset>"
    )
    peer.answer("/robots.txt", Response(body=f"Sitemap: {base}/sitemap-index.xml\n",
                                        content_type="text/plain"))  # fmt: skip
    peer.answer("/sitemap-index.xml", Response(body=index, content_type="application/xml"))
    peer.answer(
        "/sitemap-pages.xml.gz",
        Response(body=gzip.compress(urlset.encode()), content_type="application/gzip"),
    )
    home = "<html><head><title>Acme</title></head><body><main><p>" + HOME[0] + "</p></main>"
    peer.answer("/", Response(body=home + "</body></html>", content_type="text/html"))
    peer.answer(
        "/industries/retail-logistics",
        Response(body=page("Retail logistics", ABOUT), content_type="text/html"),
    )
    result = company(base + "/")
    assert [s.title for s in result.sources] == ["Acme", "Retail logistics"]
    assert len(peer.hits("/sitemap-pages.xml.gz")) == 1


def test_a_gzipped_sitemap_larger_than_the_cap_or_broken_is_ignored() -> None:
    from agents.sources.site import MAX_SITEMAP_BYTES, sitemap_text

    urlset = b"<urlset><url><loc>https://a.example/x</loc></url></urlset>"
    assert sitemap_text(gzip.compress(urlset)) == urlset.decode()
    bomb = gzip.compress(b"<urlset>" + b" " * (MAX_SITEMAP_BYTES + 10))
    assert len(bomb) < 100_000 and sitemap_text(bomb) is None
    assert sitemap_text(b"\x1f\x8b" + b"not gzip at all") is None
