"""SearXNG (self-hosted metasearch): `GET {base}/search?q=…&format=json&pageno=N`.

The instance must allow the JSON format (`search.formats` includes `json` in settings.yml);
one that does not answers 403, reported as `SearchAuthError`. Each page holds ~10-20 results;
pages are requested until `count` hits are found, a page comes back empty, or `max_pages`.
"""

from __future__ import annotations

from typing import Any

import httpx

from agents.sources.search.base import CallLimits, WebHit, call_json, result_items, text_field


def parse_searxng(provider: str, data: Any) -> list[WebHit]:
    hits: list[WebHit] = []
    for url, item in result_items(provider, data):
        hits.append(
            WebHit(
                url=url,
                title=text_field(item, "title") or url,
                snippet=text_field(item, "content"),
                published=text_field(item, "publishedDate"),
                engine=text_field(item, "engine"),
            )
        )
    return hits


class SearxngBackend:
    name = "searxng"

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        *,
        limits: CallLimits | None = None,
        max_pages: int = 2,
        language: str = "",
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.limits = limits or CallLimits()
        self.max_pages = max_pages
        self.language = language

    async def search(self, query: str, *, count: int) -> list[WebHit]:
        hits: list[WebHit] = []
        seen: set[str] = set()
        for page in range(1, self.max_pages + 1):
            params: dict[str, str | int] = {"q": query, "format": "json", "pageno": page}
            if self.language:
                params["language"] = self.language
            data = await call_json(
                self.client, self.name, "GET", f"{self.base_url}/search",
                limits=self.limits, params=params, headers={"Accept": "application/json"},
            )  # fmt: skip
            batch = parse_searxng(self.name, data)
            if not batch:
                break
            for hit in batch:
                if hit.url not in seen:
                    seen.add(hit.url)
                    hits.append(hit)
            if len(hits) >= count:
                break
        return hits[:count]
