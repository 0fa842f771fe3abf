"""Tavily: `POST {base}/search` with `Authorization: Bearer <TAVILY_API_KEY>`.

Body `{"query", "max_results" (≤ 20), "search_depth": "basic"}`; the answer's `results` carry
`title`, `url`, `content` (a query-related extract), `score` and sometimes `published_date`.
Tavily has no pagination: one call asks for up to 20 results. Its plan limits (432, 433) are
reported like a 429.

The official `tavily-python` client is not used: its async client hard-codes the API host,
builds its own httpx client per call (no injected client, proxies from the environment) and
drops the Retry-After header; the HTTP API it wraps is small and documented.
"""

from __future__ import annotations

from typing import Any

import httpx

from agents.sources.search.base import CallLimits, WebHit, call_json, result_items, text_field
from agents.sources.search.errors import SearchAuthError

TAVILY_URL = "https://api.tavily.com"
MAX_RESULTS = 20


def parse_tavily(provider: str, data: Any) -> list[WebHit]:
    hits: list[WebHit] = []
    for url, item in result_items(provider, data):
        hits.append(
            WebHit(
                url=url,
                title=text_field(item, "title") or url,
                snippet=text_field(item, "content"),
                published=text_field(item, "published_date"),
                engine="tavily",
            )
        )
    return hits


class TavilyBackend:
    name = "tavily"

    def __init__(
        self,
        client: httpx.AsyncClient,
        api_key: str,
        *,
        base_url: str = TAVILY_URL,
        limits: CallLimits | None = None,
        search_depth: str = "basic",
    ) -> None:
        self.client = client
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.limits = limits or CallLimits()
        self.search_depth = search_depth

    async def search(self, query: str, *, count: int) -> list[WebHit]:
        if not self._api_key:
            raise SearchAuthError(self.name, "TAVILY_API_KEY is not set")
        body = {
            "query": query,
            "max_results": max(1, min(count, MAX_RESULTS)),
            "search_depth": self.search_depth,
        }
        data = await call_json(
            self.client, self.name, "POST", f"{self.base_url}/search", limits=self.limits,
            headers={"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"},
            json_body=body,
        )  # fmt: skip
        return parse_tavily(self.name, data)[:count]
