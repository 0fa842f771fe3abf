"""What the research pipeline is built from: every collaborator is given, none is looked up."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx

from agents.artifacts import ArtifactStore
from agents.llm.port import LLMRegistry, Role
from agents.netsafe import FetchPolicy
from agents.reports import render_pdf_async
from agents.research.config import ResearchLimits
from agents.research.policy import ContentPolicy
from agents.research.store import ProjectStore
from agents.sources.base import SourceProvider
from agents.sources.corpus import CorpusProvider
from agents.sources.politeness import Gate
from agents.sources.reader import PageReader, ReadPolicy
from agents.sources.search.base import SearchBackend
from agents.sources.search.provider import SearchApiProvider
from agents.sources.site import CompanySiteProvider
from agents.sources.web_search import ModelWebSearchProvider


class PdfRenderer(Protocol):
    async def __call__(
        self,
        markdown: str,
        *,
        title: str,
        subtitle: str = "",
        meta: Mapping[str, str] | None = None,
    ) -> bytes: ...


@dataclass(frozen=True)
class ResearchDeps:
    llms: LLMRegistry  # roles PLANNER, RESEARCHER, WRITER, ANALYST
    artifacts: ArtifactStore
    sources: Sequence[SourceProvider]
    projects: ProjectStore
    policy: ContentPolicy = field(default_factory=ContentPolicy.default)
    limits: ResearchLimits = field(default_factory=ResearchLimits)
    render_pdf: PdfRenderer = render_pdf_async


def default_sources(
    llms: LLMRegistry,
    *,
    http_client: httpx.AsyncClient,
    corpus_dir: Path | None,
    fetch_policy: FetchPolicy | None = None,
    max_urls: int = 4,
    search_backends: Sequence[SearchBackend] = (),
    read_policy: ReadPolicy | None = None,
    site_pages: int = 6,
    search_results: int = 8,
    read_pages: int = 3,
    host_gate: Gate | None = None,
) -> list[SourceProvider]:
    """The standard providers: the company site and given URLs, the document corpus, the
    configured search APIs (their pages read), and model web search where the model has it.
    `host_gate`: the per-host politeness gate shared by the replicas (`SharedHostGate`), if
    any; else the reader keeps its own."""
    reader = PageReader(http_client, fetch_policy=fetch_policy, policy=read_policy, gate=host_gate)
    providers: list[SourceProvider] = [
        CompanySiteProvider(reader, max_pages=site_pages, max_urls=max(0, max_urls - 1)),
        CorpusProvider(corpus_dir),
    ]
    providers.extend(
        SearchApiProvider(b, reader=reader, results=search_results, read_pages=read_pages)
        for b in search_backends
    )
    providers.append(ModelWebSearchProvider(llms.for_role(Role.RESEARCHER)))
    return providers
