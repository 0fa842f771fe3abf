"""The source-provider port: what a provider is asked, and what it gives back.

A provider answers twice per job at most:
- `for_job(job)` once, before the questions are researched (e.g. fetch the company's website);
- `search(query)` once per research question (e.g. BM25 over the corpus, model web search).

Providers never raise for an ordinary miss or a refused URL: they return fewer sources and a
`notice` that the pipeline reports as a status event. They raise `SourceError` only when the
provider itself is broken; the pipeline reports that too and continues with the other providers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from agents.llm.port import LLMEvent, Usage

if TYPE_CHECKING:
    from agents.sources.budget import ReadBudget

SourceKind = Literal["web", "document", "page"]


class SourceError(Exception):
    """A provider could not work at all (bad configuration, unreadable corpus, ...)."""


@dataclass(frozen=True)
class Source:
    """One piece of evidence. `ref` identifies it across providers (URL or corpus doc id)."""

    ref: str
    title: str
    text: str
    kind: SourceKind
    url: str | None = None
    provider: str = ""
    # What the Sources section shows about a page (empty for corpus documents)
    site: str = ""
    accessed: str = ""  # ISO date the page was read
    author: str = ""
    published: str = ""
    company: bool = False  # a page of the company's own website


@dataclass(frozen=True)
class JobSources:
    """What a provider may use once per job."""

    topic: str
    company_name: str
    company_url: str
    urls: tuple[str, ...] = ()  # further URLs given in the request
    documents: tuple[str, ...] | None = None  # restrict the corpus to these documents
    max_sources: int = 5
    # The job's page and byte budget (and page cache), shared by every provider.
    budget: ReadBudget | None = None


@dataclass(frozen=True)
class SourceQuery:
    """What a provider may use for one research question."""

    question: str
    topic: str
    company_name: str
    documents: tuple[str, ...] | None = None
    max_sources: int = 5
    # Receives the LLM events of providers that call a model (retries, searches).
    on_llm_event: Callable[[LLMEvent], None] | None = None
    budget: ReadBudget | None = None


@dataclass(frozen=True)
class SourceResult:
    sources: Sequence[Source] = ()
    notices: Sequence[str] = ()
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None


EMPTY = SourceResult()


class SourceProvider(Protocol):
    @property
    def name(self) -> str: ...

    async def for_job(self, job: JobSources) -> SourceResult: ...

    async def search(self, query: SourceQuery) -> SourceResult: ...
