"""OpenAI's web search through the Responses API, against a loopback peer speaking its
documented format: POST /v1/responses with tools=[{"type": "web_search"}]; the answer's output
has web_search_call items and a message whose output_text carries url_citation annotations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agents.llm.errors import LLMAuthenticationError, LLMRateLimitError
from agents.llm.openai_compat import OpenAICompatibleLLM
from agents.llm.port import CompletionRequest, Message, WebSearchOptions, complete
from agents.llm.retry import RetryPolicy
from agents.sources.base import SourceQuery
from agents.sources.web_search import ModelWebSearchProvider
from tests.sources.peers import Peer, Response, running_peer

pytestmark = [pytest.mark.anyio, pytest.mark.allow_model_requests]

TEXT = "Route optimisation cut driven kilometres by 12 percent. Dispatch replans every 15 minutes."
FIRST = "Route optimisation cut driven kilometres by 12 percent."


def answer() -> dict[str, Any]:
    """A Responses API answer as documented: a search call, then the cited message."""
    second = TEXT.index("Dispatch")
    return {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "model": "gpt-test-2026",
        "output": [
            {
                "type": "web_search_call",
                "id": "ws_1",
                "status": "completed",
                "action": {
                    "type": "search",
                    "query": "AI route planning savings",
                    "sources": [
                        {"type": "url", "url": "https://news.example/route-ai"},
                        {"type": "url", "url": "https://blog.example/uncited"},
                    ],
                },
            },
            {
                "type": "message",
                "id": "msg_1",
                "status": "completed",
                "role": "assistant",
                "content": [
                    {
                        "type": "output_text",
                        "text": TEXT,
                        "annotations": [
                            {
                                "type": "url_citation",
                                "start_index": 0,
                                "end_index": len(FIRST),
                                "url": "https://news.example/route-ai",
                                "title": "Route AI",
                            },
                            {
                                "type": "url_citation",
                                "start_index": second,
                                "end_index": len(TEXT),
                                "url": "https://dispatch.example/live",
                                "title": "Live dispatch",
                            },
                        ],
                    }
                ],
            },
        ],
        "usage": {
            "input_tokens": 321,
            "output_tokens": 45,
            "input_tokens_details": {"cached_tokens": 20},
            "total_tokens": 366,
        },
    }


@pytest.fixture
def openai() -> Iterator[Peer]:
    yield from running_peer()


def llm(peer: Peer, client: httpx.AsyncClient, **kw: Any) -> OpenAICompatibleLLM:
    return OpenAICompatibleLLM(
        base_url=peer.url + "/v1", model="gpt-test", api_key="sk-test", http_client=client,
        retry=RetryPolicy(max_attempts=1), **kw,
    )  # fmt: skip


def search_request() -> CompletionRequest:
    return CompletionRequest(
        system="You are a web researcher.",
        messages=[Message("user", "How much do carriers save with AI route planning?")],
        max_tokens=300,
        web_search=WebSearchOptions(max_uses=2, allowed_domains=("news.example",)),
    )


async def test_a_web_search_request_uses_the_responses_api_and_returns_the_cited_pages(
    openai: Peer,
) -> None:
    openai.answer("/v1/responses", Response(body=answer()))
    async with httpx.AsyncClient(trust_env=False) as client:
        model = llm(openai, client, responses_web_search=True)
        assert model.capabilities.web_search
        result = await complete(model, search_request())
    (seen,) = openai.hits("/v1/responses")
    assert seen.method == "POST" and seen.headers["authorization"] == "Bearer sk-test"
    body = seen.body
    assert body["tools"] == [{"type": "web_search",
                              "filters": {"allowed_domains": ["news.example"]}}]  # fmt: skip
    assert body["instructions"] == "You are a web researcher."
    assert body["input"][0]["role"] == "user" and body["max_output_tokens"] == 300
    assert "web_search_call.action.sources" in body["include"]
    assert result.text == TEXT and result.searches == ("AI route planning savings",)
    urls = [h.url for h in result.sources]
    assert urls == [
        "https://news.example/route-ai", "https://dispatch.example/live",
        "https://blog.example/uncited",
    ]  # fmt: skip
    assert result.sources[0].snippet == FIRST and result.sources[0].title == "Route AI"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (321, 45)
    assert result.usage.cache_read_tokens == 20 and result.model == "gpt-test-2026"


async def test_the_research_web_search_provider_gets_sources_from_openai(openai: Peer) -> None:
    openai.answer("/v1/responses", Response(body=answer()))
    async with httpx.AsyncClient(trust_env=False) as client:
        provider = ModelWebSearchProvider(llm(openai, client, responses_web_search=True))
        assert provider.available
        result = await provider.search(
            SourceQuery(
                question="How much do carriers save?",
                topic="AI route planning",
                company_name="Northwind Freight",
                max_sources=4,
            )
        )
    assert [s.url for s in result.sources][:2] == [
        "https://news.example/route-ai", "https://dispatch.example/live",
    ]  # fmt: skip
    assert FIRST in result.sources[0].text


async def test_errors_map_to_the_package_exceptions(openai: Peer) -> None:
    openai.answer(
        "/v1/responses",
        Response(429, {"error": {"message": "slow down"}}, headers={"retry-after": "7"}),
        Response(401, {"error": {"message": "bad key"}}),
    )
    async with httpx.AsyncClient(trust_env=False) as client:
        model = llm(openai, client, responses_web_search=True)
        with pytest.raises(LLMRateLimitError) as limited:
            await complete(model, search_request())
        assert limited.value.retry_after == 7
        with pytest.raises(LLMAuthenticationError):
            await complete(model, search_request())


def test_only_openai_itself_has_the_tool() -> None:
    """Other OpenAI-compatible servers (vLLM, Ollama, llama-server) have no web search."""
    assert OpenAICompatibleLLM(
        base_url="https://api.openai.com/v1", model="m"
    ).capabilities.web_search
    assert not OpenAICompatibleLLM(
        base_url="http://127.0.0.1:8080/v1", model="m"
    ).capabilities.web_search
