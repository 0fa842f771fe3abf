"""Brave Search: `GET {base}/res/v1/web/search?q=…&count=…&offset=…` with `X-Subscription-Token`.

`count` is at most 20 per page and `offset` is a page index (0-9); the answer's
`web.results` carry `title`, `url`, `description` (with `<strong>` highlights, removed here)
and `page_age`/`age`; `query.more_results_available` says whether another page exists.
"""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from agents.sources.search.base import CallLimits, WebHit, call_json, result_items, text_field
from agents.sources.search.errors import SearchAuthError, SearchBadResponse

BRAVE_URL = "https://api.search.brave.com"
MAX_COUNT = 20
MAX_OFFSET = 9
_TAG = re.compile(r"<[^>]{0,200}>")


def _plain(text: str) -> str:
    return html.unescape(_TAG.sub("", text))


def parse_brave(provider: str, data: Any) -> tuple[list[WebHit], bool]:
    """The hits of one page and whether Brave says more results are available."""
    if not isinstance(data, dict):
        raise SearchBadResponse(provider, "the answer is not a JSON object")
    web = data.get("web")
    if web is None:
        if not isinstance(data.get("query"), dict):
            raise SearchBadResponse(provider, 'the answer has neither "web" nor "query"')
        return [], False  # no web results for this query (e.g. only news or nothing)
    hits: list[WebHit] = []
    for url, item in result_items(provider, web, where="web.results"):
        snippet = _plain(text_field(item, "description"))
        extra = item.get("extra_snippets")
        if isinstance(extra, list):
            snippet = " ".join([snippet, *(_plain(e) for e in extra if isinstance(e, str))])
        hits.append(
            WebHit(
                url=url,
                title=_plain(text_field(item, "title")) or url,
                snippet=snippet.strip(),
                published=text_field(item, "page_age") or text_field(item, "age"),
                engine="brave",
            )
        )
    query = data.get("query")
    more = isinstance(query, dict) and query.get("more_results_available") is True
    return hits, more


class BraveBackend:
    name = "brave"

    def __init__(
        self,
        client: httpx.AsyncClient,
        api_key: str,
        *,
        base_url: str = BRAVE_URL,
        limits: CallLimits | None = None,
        max_pages: int = 2,
    ) -> None:
        self.client = client
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.limits = limits or CallLimits()
        self.max_pages = max_pages

    async def search(self, query: str, *, count: int) -> list[WebHit]:
        if not self._api_key:
            raise SearchAuthError(self.name, "BRAVE_API_KEY is not set")
        hits: list[WebHit] = []
        seen: set[str] = set()
        per_page = max(1, min(count, MAX_COUNT))
        for offset in range(min(self.max_pages, MAX_OFFSET + 1)):
            data = await call_json(
                self.client, self.name, "GET", f"{self.base_url}/res/v1/web/search",
                limits=self.limits, params={"q": query, "count": per_page, "offset": offset},
                headers={"X-Subscription-Token": self._api_key, "Accept": "application/json"},
            )  # fmt: skip
            batch, more = parse_brave(self.name, data)
            for hit in batch:
                if hit.url not in seen:
                    seen.add(hit.url)
                    hits.append(hit)
            if len(hits) >= count or not more or not batch:
                break
        return hits[:count]
