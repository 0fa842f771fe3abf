"""Build the configured search backends (names from QUBITZ_SEARCH_PROVIDER, values given)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from agents.sources.search.base import CallLimits, SearchBackend
from agents.sources.search.brave import BRAVE_URL, BraveBackend
from agents.sources.search.searxng import SearxngBackend
from agents.sources.search.tavily import TAVILY_URL, TavilyBackend

PROVIDERS = ("searxng", "tavily", "brave")


@dataclass(frozen=True)
class SearchConfig:
    providers: tuple[str, ...] = ()  # empty: no web search API (corpus + given URLs)
    searxng_url: str = ""
    tavily_api_key: str = ""
    tavily_url: str = TAVILY_URL
    brave_api_key: str = ""
    brave_url: str = BRAVE_URL
    timeout: float = 15.0
    results: int = 8  # hits asked of each provider per search
    read_pages: int = 3  # of those, pages read in full

    def problems(self) -> list[str]:
        out = [f"unknown search provider {p!r}" for p in self.providers if p not in PROVIDERS]
        if "searxng" in self.providers and not self.searxng_url:
            out.append("searxng needs QUBITZ_SEARXNG_URL")
        if "tavily" in self.providers and not self.tavily_api_key:
            out.append("tavily needs TAVILY_API_KEY")
        if "brave" in self.providers and not self.brave_api_key:
            out.append("brave needs BRAVE_API_KEY")
        return out


def build_backends(config: SearchConfig, client: httpx.AsyncClient) -> list[SearchBackend]:
    limits = CallLimits(timeout=config.timeout)
    backends: list[SearchBackend] = []
    for name in dict.fromkeys(config.providers):
        if name == "searxng":
            backends.append(SearxngBackend(client, config.searxng_url, limits=limits))
        elif name == "tavily":
            backends.append(
                TavilyBackend(
                    client, config.tavily_api_key, base_url=config.tavily_url, limits=limits
                )
            )
        elif name == "brave":
            backends.append(
                BraveBackend(client, config.brave_api_key, base_url=config.brave_url, limits=limits)
            )
    return backends


def names(backends: Sequence[SearchBackend]) -> list[str]:
    return [b.name for b in backends]
