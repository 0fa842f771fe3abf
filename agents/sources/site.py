"""The company's own website (and the URLs named in the prompt), read once per job.

Besides `company_url`, the provider reads the site's sitemaps (from robots.txt, else
`/sitemap.xml`; one level of sitemap index; gzipped ones too) and the home page's links, ranks
same-site URLs by what they say about the business (about, products/services, industries,
customers, news, careers), and reads up to `max_pages` of them within the job's budget. Every
page it returns is marked `company=True`; the pipeline builds the company profile from these
pages only.
"""

from __future__ import annotations

import asyncio
import html
import re
import zlib
from collections.abc import Sequence
from urllib.parse import urljoin, urlsplit

from agents.sources.base import JobSources, Source, SourceQuery, SourceResult
from agents.sources.budget import ReadBudget
from agents.sources.canonical import canonical_url, same_site
from agents.sources.reader import PageReader, Read, is_html

_LOC = re.compile(r"<loc>\s*([^<\s]+)\s*</loc>", re.IGNORECASE)
_HREF = re.compile(r"""<a\s[^>]*?href\s*=\s*["']([^"'#]+)["']""", re.IGNORECASE)
_SKIP_SUFFIX = (
    ".jpg", ".jpeg", ".png", ".gif", ".svg", ".webp", ".css", ".js", ".xml", ".gz", ".zip",
    ".mp4", ".mp3", ".ico", ".woff", ".woff2", ".json", ".rss",
)  # fmt: skip
_SKIP_WORDS = (
    "login", "signin", "sign-in", "signup", "register", "cart", "checkout", "account",
    "privacy", "terms", "cookie", "legal", "imprint", "impressum", "tag/", "feed", "search",
    "wp-admin", "wp-json", "cdn-cgi",
)  # fmt: skip
# (category, words in the path, weight): what a page says about the business.
CATEGORIES: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("about", ("about", "company", "who-we-are", "our-story", "mission", "team"), 6),
    ("products", ("product", "services", "service", "solution", "platform", "offer"), 5),
    ("industries", ("industr", "sector", "market", "customer", "client", "case-stud"), 4),
    ("news", ("news", "press", "media", "blog", "insight", "investor"), 3),
    ("careers", ("career", "jobs", "join", "work-with-us"), 2),
)


def locs(xml_text: str) -> list[str]:
    return [html.unescape(u) for u in _LOC.findall(xml_text)]


def links(html_text: str, base: str) -> list[str]:
    return [urljoin(base, html.unescape(h.strip())) for h in _HREF.findall(html_text)]


def page_category(url: str) -> tuple[str, int] | None:
    """(category, score) of a same-site URL worth reading, or None."""
    parts = urlsplit(url)
    path = parts.path.lower()
    if parts.scheme not in ("http", "https") or path.endswith(_SKIP_SUFFIX):
        return None
    if any(w in path for w in _SKIP_WORDS) or parts.query:
        return None
    depth = len([p for p in path.split("/") if p])
    for name, words, weight in CATEGORIES:
        if any(w in path for w in words):
            return name, weight * 10 - depth * 3
    return None


def rank_site_urls(candidates: Sequence[str], home: str, *, limit: int) -> list[str]:
    """The best `limit` same-site URLs, one per category first, then by score."""
    home_key = canonical_url(home)
    scored: dict[str, tuple[str, int, int]] = {}
    for order, url in enumerate(candidates):
        key = canonical_url(url)
        if key == home_key or key in scored or not same_site(url, home):
            continue
        found = page_category(url)
        if found is not None:
            scored[key] = (found[0], found[1], order)
    ranked = sorted(scored.items(), key=lambda kv: (-kv[1][1], kv[1][2]))
    picked: list[str] = []
    used: set[str] = set()
    for key, (category, _score, _order) in ranked:
        if category not in used:
            picked.append(key)
            used.add(category)
    for key, _ in ranked:
        if key not in picked:
            picked.append(key)
    return picked[:limit]


GZIP_MAGIC = b"\x1f\x8b"
MAX_SITEMAP_BYTES = 10 * 1024 * 1024  # a decompressed sitemap's limit (the protocol's 50 MB
# is more than a company profile needs; the cap guards against gzip bombs)


def sitemap_text(body: bytes, charset: str = "utf-8") -> str | None:
    """A sitemap's XML: gzipped ones (`sitemap.xml.gz`, recognised by their magic bytes, as
    servers send them as application/gzip or octet-stream) are decompressed up to
    `MAX_SITEMAP_BYTES`; None when the gzip data is broken or larger than that."""
    if body.startswith(GZIP_MAGIC):
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            body = inflater.decompress(body, MAX_SITEMAP_BYTES)
        except zlib.error:
            return None
        if inflater.unconsumed_tail:
            return None
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


class CompanySiteProvider:
    name = "company_site"

    def __init__(
        self, reader: PageReader, *, max_pages: int = 6, max_sitemaps: int = 3,
        max_urls: int = 4,
    ) -> None:  # fmt: skip
        self.reader = reader
        self.max_pages = max_pages
        self.max_sitemaps = max_sitemaps
        self.max_urls = max_urls

    async def _sitemap_urls(self, home: str, budget: ReadBudget) -> list[str]:
        origin = f"{urlsplit(home).scheme}://{urlsplit(home).netloc}"
        queue = (await self.reader.robots_sitemaps(home)) or [origin + "/sitemap.xml"]
        found: list[str] = []
        fetched = 0
        while queue and fetched < self.max_sitemaps:
            url = queue.pop(0)
            if not same_site(url, home):
                continue
            fetched += 1
            doc, _why = await self.reader.fetch(url, budget)
            if doc is None:
                continue
            text = sitemap_text(doc.body, doc.charset)
            if text is None:
                continue
            entries = locs(text)
            if "<sitemapindex" in text[:2000].lower():
                queue.extend(entries)
            else:
                found.extend(entries)
        return found

    async def _company(self, home: str, budget: ReadBudget) -> tuple[list[Source], list[str]]:
        first = await self.reader.read(home, budget, provider=self.name)
        if first.source is None:
            why = first.notice or "no readable text"
            return [], [f"The company website could not be read ({why}); the reports speak "
                        "of the sector, not of the company's own statements"]  # fmt: skip
        candidates = await self._sitemap_urls(home, budget)
        if first.document is not None and is_html(first.document):
            candidates.extend(links(first.document.text, first.document.final_url or home))
        picked = rank_site_urls(candidates, home, limit=self.max_pages)
        reads: list[Read] = list(
            await asyncio.gather(*(self.reader.read(u, budget, provider=self.name) for u in picked))
        )
        pages = [first.source, *(r.source for r in reads if r.source is not None)]
        sources = [_as_company(p) for p in pages]
        notices = [r.notice for r in reads if r.notice and r.source is None]
        titles = ", ".join(s.title for s in sources[:6])
        notices.insert(0, f"Read {len(sources)} page(s) of the company website: {titles}")
        return sources, notices

    async def for_job(self, job: JobSources) -> SourceResult:
        budget = job.budget or ReadBudget()
        sources: list[Source] = []
        notices: list[str] = []
        if job.company_url.strip():
            sources, notices = await self._company(job.company_url.strip(), budget)
        extra = [u for u in dict.fromkeys(job.urls) if u.strip()][: self.max_urls]
        for read in await asyncio.gather(
            *(self.reader.read(u, budget, provider="fetch") for u in extra)
        ):
            if read.source is not None:
                sources.append(read.source)
            elif read.notice:
                notices.append(read.notice)
        return SourceResult(sources=sources, notices=notices)

    async def search(self, query: SourceQuery) -> SourceResult:
        return SourceResult()


def _as_company(page: Source) -> Source:
    return Source(
        ref=page.ref, title=page.title, text=page.text, kind="page", url=page.url,
        provider=page.provider, site=page.site, accessed=page.accessed, author=page.author,
        published=page.published, company=True,
    )  # fmt: skip
