"""Reading web pages for research: robots.txt, per-host politeness, the job's budget, and
main-text extraction, over the SSRF-safe fetcher (`agents.netsafe`, rules unchanged).

`PageReader.read(url, budget)` returns a `Read`: a `Source` (kind "page") or a notice saying
why there is none. Each URL is fetched at most once per job (the budget caches reads by
canonical URL). HTML goes through trafilatura (agents/sources/extract.py); PDFs and plain text
through agents/sources/fetch.py's `document_text`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from agents.netsafe import FetchBlocked, FetchedDocument, FetchFailed, FetchPolicy, fetch_url
from agents.sources.base import Source
from agents.sources.budget import ReadBudget
from agents.sources.canonical import canonical_url, same_site, site_of
from agents.sources.extract import extract_html
from agents.sources.fetch import document_text
from agents.sources.politeness import Gate, HostGate
from agents.sources.robots import RobotsCache

_HTML = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class ReadPolicy:
    # Politeness
    respect_robots: bool = True
    per_host: int = 2  # fetches of one host at the same time
    delay: float = 1.0  # seconds between two fetches of one host
    max_crawl_delay: float = 10.0  # a robots.txt Crawl-delay is honoured up to this
    # Limits
    max_chars: int = 20_000  # of one page's main text, kept as the source's text
    robots_agent: str = "qubitz"  # the product token matched against robots.txt groups


@dataclass(frozen=True)
class Read:
    source: Source | None = None
    notice: str | None = None
    document: FetchedDocument | None = None


def _clip(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    return text[:max_chars].rsplit(" ", 1)[0] + " …"


def is_html(doc: FetchedDocument) -> bool:
    ctype = doc.content_type.split(";")[0].strip().lower()
    return ctype in _HTML or (not ctype and doc.body.lstrip()[:1] == b"<")


def to_source(doc: FetchedDocument, *, provider: str, max_chars: int) -> Source | None:
    """The page as a source (blocking: extraction parses HTML or PDF); None without text."""
    final = doc.final_url or doc.url
    author = published = sitename = ""
    if is_html(doc):
        extracted = extract_html(doc.text, url=final)
        title, text = extracted.title, extracted.text
        author, published, sitename = extracted.author, extracted.date, extracted.sitename
        if extracted.canonical and same_site(extracted.canonical, final):
            final = extracted.canonical
    else:
        title, text = document_text(doc)
    if not text:
        return None
    return Source(
        ref=canonical_url(final),
        title=title or final,
        text=_clip(text, max_chars),
        kind="page",
        url=canonical_url(final),
        provider=provider,
        site=sitename or site_of(final),
        accessed=datetime.now(UTC).strftime("%Y-%m-%d"),
        author=author,
        published=published,
    )


class PageReader:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        fetch_policy: FetchPolicy | None = None,
        policy: ReadPolicy | None = None,
        gate: Gate | None = None,
    ) -> None:
        self.client = client
        self.fetch_policy = fetch_policy or FetchPolicy()
        self.policy = policy or ReadPolicy()
        # Given: shared by the replicas (SharedHostGate over Redis); else this process's own.
        self.gate: Gate = gate or HostGate(
            per_host=self.policy.per_host,
            delay=self.policy.delay,
            max_delay=self.policy.max_crawl_delay,
        )
        self.robots = RobotsCache(client, self.fetch_policy)

    async def robots_sitemaps(self, url: str) -> list[str]:
        if not self.policy.respect_robots:
            return []
        try:
            rules = await self.robots.rules(url)
        except (FetchBlocked, FetchFailed):
            return []
        return rules.sitemaps()

    async def fetch(self, url: str, budget: ReadBudget) -> tuple[FetchedDocument | None, str]:
        """The raw document (robots, politeness and budget applied), or None and why not."""
        host = (urlsplit(url).hostname or "").lower()
        try:
            if self.policy.respect_robots:
                rules = await self.robots.rules(url)
                if not rules.allows(url, self.policy.robots_agent):
                    return None, f"Skipped {url}: {rules.refusal()}"
                self.gate.set_crawl_delay(host, rules.crawl_delay(self.policy.robots_agent))
            if not budget.reserve_page():
                return None, f"Skipped {url}: the job's page or byte budget is spent"
            limit = max(1, min(self.fetch_policy.max_bytes, budget.bytes_left))
            policy = replace(self.fetch_policy, max_bytes=limit)
            async with self.gate.slot(host):
                doc = await fetch_url(self.client, url, policy=policy)
        except FetchBlocked as exc:
            return None, f"Skipped {url}: blocked by the fetch policy ({exc.message})"
        except FetchFailed as exc:
            return None, f"Could not fetch {url}: {exc.message}"
        budget.spend(len(doc.body))
        if not doc.ok:
            return None, f"Could not fetch {url}: HTTP {doc.status}"
        return doc, f"Fetched {url} ({len(doc.body)} bytes)"

    async def _read(self, url: str, budget: ReadBudget, provider: str) -> Read:
        doc, why = await self.fetch(url, budget)
        if doc is None:
            return Read(notice=why)
        try:
            source = await asyncio.to_thread(
                to_source, doc, provider=provider, max_chars=self.policy.max_chars
            )
        except Exception as exc:  # pypdf and lxml raise many types on broken input
            return Read(notice=f"Could not read {url}: {type(exc).__name__}", document=doc)
        if source is None:
            return Read(notice=f"Fetched {url} but found no readable text", document=doc)
        return Read(source=source, document=doc)

    async def read(self, url: str, budget: ReadBudget, *, provider: str) -> Read:
        """One page, read once per job (a second caller gets the first read's outcome)."""
        key = canonical_url(url)
        cached = budget.cache.get(key)
        if cached is None:
            cached = asyncio.ensure_future(self._read(url, budget, provider))
            budget.cache[key] = cached
        outcome: Read = await cached
        return outcome
