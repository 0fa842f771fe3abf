"""A search API as a `SourceProvider`: search the question, read the best pages it returns.

Per question: one search (`results` hits), then the first `read_pages` hits are read through
the `PageReader` (robots.txt, politeness, the job's budget, main-text extraction). A hit whose
page could not be read stays a source with the search snippet as its text (kind "web").
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from agents.sources.base import JobSources, Source, SourceQuery, SourceResult
from agents.sources.canonical import canonical_url, site_of
from agents.sources.reader import PageReader, Read
from agents.sources.search.base import SearchBackend, WebHit


class SearchApiProvider:
    def __init__(
        self,
        backend: SearchBackend,
        *,
        reader: PageReader | None = None,
        results: int = 8,
        read_pages: int = 3,
    ) -> None:
        self.backend = backend
        self.reader = reader
        self.results = results
        self.read_pages = read_pages

    @property
    def name(self) -> str:
        return self.backend.name

    async def for_job(self, job: JobSources) -> SourceResult:
        return SourceResult()

    def _snippet_source(self, hit: WebHit) -> Source:
        return Source(
            ref=canonical_url(hit.url),
            title=hit.title,
            text=hit.snippet,
            kind="web",
            url=hit.url,
            provider=self.name,
            site=site_of(hit.url),
            accessed=datetime.now(UTC).strftime("%Y-%m-%d"),
            published=hit.published,
        )

    async def search(self, query: SourceQuery) -> SourceResult:
        hits = await self.backend.search(query.question, count=max(1, self.results))
        to_read = hits[: min(self.read_pages, query.max_sources)]
        reads: list[Read] = []
        if self.reader is not None and query.budget is not None and to_read:
            budget = query.budget
            reads = list(
                await asyncio.gather(
                    *(self.reader.read(h.url, budget, provider=self.name) for h in to_read)
                )
            )
        sources: list[Source] = []
        notices: list[str] = []
        for i, hit in enumerate(hits[: max(query.max_sources, len(to_read))]):
            read = reads[i] if i < len(reads) else None
            if read is not None and read.source is not None:
                page = read.source
                sources.append(
                    Source(
                        ref=page.ref, title=page.title or hit.title, text=page.text, kind="page",
                        url=page.url, provider=self.name, site=page.site, accessed=page.accessed,
                        author=page.author, published=page.published or hit.published,
                    )
                )  # fmt: skip
                continue
            if read is not None and read.notice:
                notices.append(read.notice)
            if hit.snippet:
                sources.append(self._snippet_source(hit))
        return SourceResult(sources=sources, notices=notices)
