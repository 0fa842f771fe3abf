"""Sources from the model's own server-side web search (where the provider has one).

One model call per research question with `CompletionRequest.web_search` set; the pages the
provider searched come back in `CompletionResult.sources`. The model's short summary of what it
found is attached to the first source so the researcher sees it; each hit's snippet is kept as
that source's text. A model without the capability makes this provider a no-op.
"""

from __future__ import annotations

from agents.llm.port import (
    LLM,
    CompletionRequest,
    Message,
    WebSearchOptions,
    complete,
)
from agents.sources.base import EMPTY, JobSources, Source, SourceQuery, SourceResult

SYSTEM = (
    "You are a web researcher. Search the web for the question and reply with a short factual "
    "summary (at most 8 sentences) of what the sources say. Mention numbers and dates."
)


def search_prompt(query: SourceQuery) -> str:
    return (
        f"Research topic: {query.topic}\nCompany: {query.company_name}\n"
        f"Question: {query.question}\nSearch the web and summarise what you find."
    )


class ModelWebSearchProvider:
    name = "web_search"

    def __init__(
        self, llm: LLM, *, max_uses: int = 3, max_tokens: int = 800,
        allowed_domains: tuple[str, ...] = (),
    ) -> None:  # fmt: skip
        self.llm = llm
        self.max_uses = max_uses
        self.max_tokens = max_tokens
        self.allowed_domains = allowed_domains

    @property
    def available(self) -> bool:
        return self.llm.capabilities.web_search

    async def for_job(self, job: JobSources) -> SourceResult:
        if not self.available:
            return SourceResult(notices=[f"{self.llm.provider} has no web search; not used"])
        return EMPTY

    async def search(self, query: SourceQuery) -> SourceResult:
        if not self.available:
            return EMPTY
        request = CompletionRequest(
            system=SYSTEM,
            messages=[Message("user", search_prompt(query))],
            max_tokens=self.max_tokens,
            web_search=WebSearchOptions(
                max_uses=self.max_uses, allowed_domains=self.allowed_domains
            ),
        )
        result = await complete(self.llm, request, query.on_llm_event)
        sources: list[Source] = []
        seen: set[str] = set()
        for hit in result.sources:
            if not hit.url or hit.url in seen:
                continue
            seen.add(hit.url)
            sources.append(
                Source(
                    ref=hit.url,
                    title=hit.title or hit.url,
                    text=hit.snippet,
                    kind="web",
                    url=hit.url,
                    provider=self.name,
                )
            )
            if len(sources) >= query.max_sources:
                break
        if sources and result.text.strip():
            first = sources[0]
            summary = f"Search summary: {result.text.strip()}"
            text = f"{first.text}\n\n{summary}" if first.text else summary
            sources[0] = Source(first.ref, first.title, text, "web", first.url, self.name)
        return SourceResult(sources=sources, usage=result.usage, cost_usd=result.cost_usd)
