"""Sources from the URLs given in the request (the company website first), fetched safely.

Every fetch goes through `agents.netsafe.fetch_url` (SSRF-safe: public addresses only, vetted
redirects, size and time limits). A refused or failed URL becomes a notice, never an error: the
research goes on without it.
"""

from __future__ import annotations

import asyncio

import httpx

from agents.netsafe import FetchBlocked, FetchedDocument, FetchFailed, FetchPolicy, fetch_url
from agents.sources.base import EMPTY, JobSources, Source, SourceQuery, SourceResult
from agents.sources.text import html_to_text, normalize_whitespace, pdf_to_text


def document_text(doc: FetchedDocument) -> tuple[str, str]:
    """(title, text) of a fetched document by content type (blocking for PDFs)."""
    ctype = doc.content_type.split(";")[0].strip().lower()
    if ctype == "application/pdf" or doc.body[:5] == b"%PDF-":
        return "", pdf_to_text(doc.body)
    if ctype in ("text/html", "application/xhtml+xml") or (
        not ctype and doc.body.lstrip()[:1] == b"<"
    ):
        return html_to_text(doc.text)
    if ctype.startswith("text/") or ctype in ("application/json", "application/xml", ""):
        return "", normalize_whitespace(doc.text)
    return "", ""


class FetchProvider:
    """Fetches the company URL and other given URLs once per job."""

    name = "fetch"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        policy: FetchPolicy | None = None,
        max_urls: int = 4,
        max_chars: int = 8000,
    ) -> None:
        self.client = client
        self.policy = policy or FetchPolicy()
        self.max_urls = max_urls
        self.max_chars = max_chars

    async def _one(self, url: str) -> tuple[Source | None, str | None]:
        try:
            doc = await fetch_url(self.client, url, policy=self.policy)
        except FetchBlocked as exc:
            return None, f"Skipped {url}: blocked by the fetch policy ({exc.message})"
        except FetchFailed as exc:
            return None, f"Could not fetch {url}: {exc.message}"
        if not doc.ok:
            return None, f"Could not fetch {url}: HTTP {doc.status}"
        try:
            title, text = await asyncio.to_thread(document_text, doc)
        except Exception as exc:  # pypdf raises many types on a broken file
            return None, f"Could not read {url}: {type(exc).__name__}"
        if not text:
            return None, f"Fetched {url} but found no readable text"
        if len(text) > self.max_chars:
            text = text[: self.max_chars].rsplit(" ", 1)[0] + " …"
        source = Source(
            ref=doc.final_url or url,
            title=title or url,
            text=text,
            kind="page",
            url=doc.final_url or url,
            provider=self.name,
        )
        return source, f"Fetched {url} ({len(text)} characters)"

    async def for_job(self, job: JobSources) -> SourceResult:
        urls = list(dict.fromkeys(u for u in (job.company_url, *job.urls) if u.strip()))
        urls = urls[: self.max_urls]
        if not urls:
            return EMPTY
        results = await asyncio.gather(*(self._one(u) for u in urls))
        sources = [s for s, _ in results if s is not None]
        notices = [n for _, n in results if n is not None]
        return SourceResult(sources=sources, notices=notices)

    async def search(self, query: SourceQuery) -> SourceResult:
        return EMPTY
