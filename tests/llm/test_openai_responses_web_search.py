"""OpenAI's web search through the Responses API, against a loopback peer speaking its
documented format: POST /v1/responses with tools=[{"type": "web_search"}] and stream=true; the
answer is an SSE stream of response.* events (output items, text deltas, annotations) ending in
response.completed, whose response has web_search_call items and a message whose output_text
carries url_citation annotations."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agents.llm.errors import (
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMConnectionError,
    LLMError,
    LLMOverloadedError,
    LLMRateLimitError,
    LLMServerError,
)
from agents.llm.openai_compat import OpenAICompatibleLLM
from agents.llm.openai_responses import parse_response
from agents.llm.port import (
    Completed,
    CompletionRequest,
    LLMEvent,
    Message,
    RetryScheduled,
    TextDelta,
    WebSearchOptions,
    WebSearchPerformed,
    complete,
)
from agents.llm.pricing_openai import family, price_for
from agents.llm.retry import RetryPolicy
from agents.sources.base import SourceQuery
from agents.sources.web_search import ModelWebSearchProvider
from tests.sources.peers import Peer, Response, running_peer

pytestmark = [pytest.mark.anyio, pytest.mark.allow_model_requests]

TEXT = "Route optimisation cut driven kilometres by 12 percent. Dispatch replans every 15 minutes."
FIRST = "Route optimisation cut driven kilometres by 12 percent."
MODEL = "gpt-4.1"
SERVED = "gpt-4.1-2025-04-14"


def answer(model: str = SERVED) -> dict[str, Any]:
    """A Responses API answer as documented: a search call, then the cited message."""
    second = TEXT.index("Dispatch")
    return {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "model": model,
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


def events_of(response: dict[str, Any], final: str = "response.completed") -> list[dict[str, Any]]:
    """The documented stream of events that builds `response`, ending with `final`."""
    started = {**response, "status": "in_progress", "output": [], "usage": None}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
    ]
    for i, item in enumerate(response["output"]):
        ref = {"output_index": i, "item_id": item["id"]}
        if item["type"] == "web_search_call":
            events += [
                {"type": "response.output_item.added", "output_index": i,
                 "item": {"type": "web_search_call", "id": item["id"], "status": "in_progress",
                          "action": {"type": "search"}}},
                {"type": "response.web_search_call.in_progress", **ref},
                {"type": "response.web_search_call.searching", **ref},
                {"type": "response.web_search_call.completed", **ref},
                {"type": "response.output_item.done", "output_index": i, "item": item},
            ]  # fmt: skip
            continue
        events.append(
            {"type": "response.output_item.added", "output_index": i,
             "item": {**item, "status": "in_progress", "content": []}}
        )  # fmt: skip
        for c, part in enumerate(item["content"]):
            at = {**ref, "content_index": c}
            text = part["text"]
            empty = {"type": "output_text", "text": "", "annotations": []}
            events.append({"type": "response.content_part.added", **at, "part": empty})
            cuts = [0, 20, text.index("Dispatch"), len(text)]
            for a, b in itertools.pairwise(cuts):
                events.append(
                    {"type": "response.output_text.delta", **at, "delta": text[a:b], "logprobs": []}
                )
            for n, note in enumerate(part["annotations"]):
                events.append(
                    {"type": "response.output_text.annotation.added", **at,
                     "annotation_index": n, "annotation": note}
                )  # fmt: skip
            events.append({"type": "response.output_text.done", **at, "text": text})
            events.append({"type": "response.content_part.done", **at, "part": part})
        events.append({"type": "response.output_item.done", "output_index": i, "item": item})
    events.append({"type": final, "response": response})
    return [{**event, "sequence_number": n} for n, event in enumerate(events)]


def sse(event: dict[str, Any]) -> str:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"


def streamed(events: list[dict[str, Any]], **kw: Any) -> Response:
    return Response(chunks=[sse(e) for e in events], content_type="text/event-stream", **kw)


def incomplete_answer() -> dict[str, Any]:
    cut = answer()
    cut["status"] = "incomplete"
    cut["incomplete_details"] = {"reason": "max_output_tokens"}
    return cut


@pytest.fixture
def openai() -> Iterator[Peer]:
    yield from running_peer()


def llm(
    peer: Peer, client: httpx.AsyncClient, *, model: str = MODEL, attempts: int = 1, **kw: Any
) -> OpenAICompatibleLLM:
    async def no_sleep(_seconds: float) -> None:
        return None

    return OpenAICompatibleLLM(
        base_url=peer.url + "/v1", model=model, api_key="sk-test", http_client=client,
        retry=RetryPolicy(max_attempts=attempts, sleep=no_sleep), **kw,
    )  # fmt: skip


def search_request() -> CompletionRequest:
    return CompletionRequest(
        system="You are a web researcher.",
        messages=[Message("user", "How much do carriers save with AI route planning?")],
        max_tokens=300,
        web_search=WebSearchOptions(max_uses=2, allowed_domains=("news.example",)),
    )


async def events_from(model: OpenAICompatibleLLM) -> list[LLMEvent]:
    return [event async for event in model.stream(search_request())]


async def test_a_web_search_request_streams_from_the_responses_api_and_returns_the_cited_pages(
    openai: Peer,
) -> None:
    openai.answer("/v1/responses", streamed(events_of(answer())))
    async with httpx.AsyncClient(trust_env=False) as client:
        model = llm(openai, client, responses_web_search=True)
        assert model.capabilities.web_search
        result = await complete(model, search_request())
    (seen,) = openai.hits("/v1/responses")
    assert seen.method == "POST" and seen.headers["authorization"] == "Bearer sk-test"
    assert seen.headers["accept"] == "text/event-stream"
    body = seen.body
    assert body["stream"] is True
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
    assert result.usage.cache_read_tokens == 20 and result.model == SERVED
    assert result.stop_reason == "end_turn"
    # the streamed answer gives exactly what the same answer gives unstreamed
    assert result == parse_response(answer(), model=MODEL, provider="openai")


async def test_text_and_searches_reach_the_caller_before_the_response_completes(
    openai: Peer,
) -> None:
    """The peer holds back response.completed until the caller has had the first text delta:
    a client that waited for the whole answer would leave the hold to time out."""
    events = events_of(answer())
    release = threading.Event()
    openai.answer(
        "/v1/responses", streamed(events, hold=release, hold_at=len(events) - 1, hold_timeout=5)
    )
    seen: list[LLMEvent] = []
    async with httpx.AsyncClient(trust_env=False) as client:
        async for event in llm(openai, client, responses_web_search=True).stream(search_request()):
            seen.append(event)
            if isinstance(event, TextDelta):
                release.set()
    assert openai.held == [True]
    kinds = [type(e).__name__ for e in seen]
    assert kinds == ["WebSearchPerformed", "TextDelta", "TextDelta", "TextDelta", "Completed"]
    search = seen[0]
    assert isinstance(search, WebSearchPerformed)
    assert search.query == "AI route planning savings"
    assert [h.url for h in search.results] == [
        "https://news.example/route-ai", "https://blog.example/uncited",
    ]  # fmt: skip
    deltas = [e.text for e in seen if isinstance(e, TextDelta)]
    assert "".join(deltas) == TEXT and deltas[0] == TEXT[:20]
    final = seen[-1]
    assert isinstance(final, Completed) and final.result.text == TEXT


@pytest.mark.parametrize(
    ("model", "cost"),
    [
        # (321 - 20) uncached x 2.00 + 20 cached x 0.50 + 45 out x 8.00 per Mtok, + 1 search 0.01
        ("gpt-4.1", (301 * 2.0 + 20 * 0.5 + 45 * 8.0) / 1e6 + 0.01),
        # gpt-4.1-mini bills the search content as a fixed 8,000 input tokens per call
        ("gpt-4.1-mini", ((301 + 8000) * 0.4 + 20 * 0.1 + 45 * 1.6) / 1e6 + 0.01),
        ("gpt-5", (301 * 1.25 + 20 * 0.125 + 45 * 10.0) / 1e6 + 0.01),
        ("gpt-test", None),
    ],
)
async def test_the_result_is_priced_with_openai_prices_and_the_search_fee(
    openai: Peer, model: str, cost: float | None
) -> None:
    openai.answer("/v1/responses", streamed(events_of(answer(model=model))))
    async with httpx.AsyncClient(trust_env=False) as client:
        result = await complete(
            llm(openai, client, model=model, responses_web_search=True), search_request()
        )
    assert result.cost_usd == (None if cost is None else pytest.approx(cost, abs=1e-12))
    if model == "gpt-4.1":
        assert result.cost_usd == pytest.approx(0.010972, abs=1e-12)


async def test_chat_completions_on_openai_are_priced_too(openai: Peer) -> None:
    chunks = [
        {"model": SERVED, "choices": [{"index": 0, "delta": {"content": "Hi"}}]},
        {"model": SERVED, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"model": SERVED, "choices": [],
         "usage": {"prompt_tokens": 1000, "completion_tokens": 100,
                   "prompt_tokens_details": {"cached_tokens": 200}}},
    ]  # fmt: skip
    lines = [f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"]
    openai.answer("/v1/chat/completions", Response(chunks=lines, content_type="text/event-stream"))
    request = CompletionRequest(system="", messages=[Message("user", "Hello")])
    async with httpx.AsyncClient(trust_env=False) as client:
        priced = await complete(llm(openai, client, responses_web_search=True), request)
        other = await complete(llm(openai, client, responses_web_search=False), request)
    assert priced.cost_usd == pytest.approx((800 * 2.0 + 200 * 0.5 + 100 * 8.0) / 1e6, abs=1e-12)
    assert other.cost_usd is None  # not OpenAI: no price


@pytest.mark.parametrize("final", ["response.incomplete", "response.completed"])
async def test_max_output_tokens_is_a_max_tokens_stop(openai: Peer, final: str) -> None:
    openai.answer("/v1/responses", streamed(events_of(incomplete_answer(), final)))
    async with httpx.AsyncClient(trust_env=False) as client:
        result = await complete(llm(openai, client, responses_web_search=True), search_request())
    assert result.stop_reason == "max_tokens" and result.text == TEXT


async def test_the_research_web_search_provider_gets_sources_from_openai(openai: Peer) -> None:
    openai.answer("/v1/responses", streamed(events_of(answer())))
    seen: list[LLMEvent] = []
    async with httpx.AsyncClient(trust_env=False) as client:
        provider = ModelWebSearchProvider(llm(openai, client, responses_web_search=True))
        assert provider.available
        result = await provider.search(
            SourceQuery(
                question="How much do carriers save?",
                topic="AI route planning",
                company_name="Northwind Freight",
                max_sources=4,
                on_llm_event=seen.append,
            )
        )
    assert [s.url for s in result.sources][:2] == [
        "https://news.example/route-ai", "https://dispatch.example/live",
    ]  # fmt: skip
    assert FIRST in result.sources[0].text
    assert result.cost_usd == pytest.approx(0.010972, abs=1e-12)
    assert isinstance(seen[0], WebSearchPerformed) and isinstance(seen[-1], Completed)


def http_error(status: int) -> Response:
    headers = {"retry-after": "7"} if status in (429, 503) else {}
    return Response(status, {"error": {"message": f"status {status}"}}, headers=headers)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, LLMAuthenticationError),
        (403, LLMAuthenticationError),
        (429, LLMRateLimitError),
        (500, LLMServerError),
        (503, LLMOverloadedError),
    ],
)
async def test_http_errors_map_as_on_the_chat_completions_path(
    openai: Peer, status: int, cls: type[LLMError]
) -> None:
    openai.answer("/v1/responses", http_error(status))
    openai.answer("/v1/chat/completions", http_error(status))
    chat = CompletionRequest(system="", messages=[Message("user", "Hello")])
    async with httpx.AsyncClient(trust_env=False) as client:
        model = llm(openai, client, responses_web_search=True)
        with pytest.raises(LLMError) as searched:
            await complete(model, search_request())
        with pytest.raises(LLMError) as chatted:
            await complete(model, chat)
    assert type(searched.value) is cls and type(chatted.value) is cls
    assert searched.value.status_code == status == chatted.value.status_code
    assert getattr(searched.value, "retry_after", None) == getattr(
        chatted.value, "retry_after", None
    )
    if status in (429, 503):
        assert getattr(searched.value, "retry_after", None) == 7


def failed(code: str) -> dict[str, Any]:
    response = {**answer(), "status": "failed", "output": []}
    response["error"] = {"code": code, "message": "it broke"}
    return {"type": "response.failed", "response": response}


BEGIN = events_of(answer())[:3]  # created, in_progress, the search call added


@pytest.mark.parametrize(
    ("chunks", "cls", "says"),
    [
        ([*map(sse, BEGIN),
          sse({"type": "error", "code": "server_error", "message": "upstream hiccup"})],
         LLMServerError, "upstream hiccup"),
        ([*map(sse, BEGIN),
          sse({"type": "error", "code": "rate_limit_exceeded", "message": "slow down"})],
         LLMRateLimitError, "slow down"),
        ([*map(sse, BEGIN),
          sse({"type": "error", "error": {"code": "rate_limit_exceeded", "message": "nested"}})],
         LLMRateLimitError, "nested"),
        ([*map(sse, BEGIN), sse(failed("server_error"))], LLMServerError, "it broke"),
        ([*map(sse, BEGIN), sse(failed("invalid_prompt"))], LLMBadRequestError, "it broke"),
        ([*map(sse, BEGIN), "event: response.output_text.delta\ndata: {not json\n\n"],
         LLMServerError, "malformed Responses API stream event"),
        # the body ends (cleanly) before response.completed
        ([*map(sse, BEGIN)], LLMServerError, "ended before the response was completed"),
    ],
    ids=["error-event", "error-rate-limit", "error-object", "failed", "failed-invalid-prompt",
         "malformed-json", "no-completed"],
)  # fmt: skip
async def test_stream_errors_map_to_the_package_exceptions(
    openai: Peer, chunks: list[str], cls: type[LLMError], says: str
) -> None:
    openai.answer("/v1/responses", Response(chunks=list(chunks), content_type="text/event-stream"))
    async with httpx.AsyncClient(trust_env=False) as client:
        with pytest.raises(LLMError) as raised:
            await complete(llm(openai, client, responses_web_search=True), search_request())
    assert type(raised.value) is cls and raised.value.provider == "openai"
    assert says in raised.value.message


async def test_a_stream_error_before_any_output_is_retried(openai: Peer) -> None:
    error = sse({"type": "error", "code": "server_error", "message": "try again"})
    openai.answer(
        "/v1/responses",
        Response(chunks=[*map(sse, BEGIN), error], content_type="text/event-stream"),
        streamed(events_of(answer())),
    )
    async with httpx.AsyncClient(trust_env=False) as client:
        events = await events_from(llm(openai, client, attempts=2, responses_web_search=True))
    assert isinstance(events[0], RetryScheduled) and "try again" in events[0].reason
    final = events[-1]
    assert isinstance(final, Completed) and final.result.text == TEXT
    assert len(openai.hits("/v1/responses")) == 2


async def test_a_stream_cut_mid_way_is_a_connection_error_after_the_text_so_far(
    openai: Peer,
) -> None:
    """The connection drops after the first text delta: the caller has that delta, then a
    connection error (not retried: replaying would duplicate the text)."""
    events = events_of(answer())
    first_delta = next(i for i, e in enumerate(events) if e["type"] == "response.output_text.delta")
    openai.answer(
        "/v1/responses",
        Response(chunks=[sse(e) for e in events[: first_delta + 1]], cut=True,
                 content_type="text/event-stream"),
    )  # fmt: skip
    seen: list[LLMEvent] = []
    async with httpx.AsyncClient(trust_env=False) as client:
        model = llm(openai, client, attempts=3, responses_web_search=True)
        with pytest.raises(LLMConnectionError):
            await complete(model, search_request(), seen.append)
    assert [type(e).__name__ for e in seen] == ["WebSearchPerformed", "TextDelta"]
    assert len(openai.hits("/v1/responses")) == 1


def test_only_openai_itself_has_the_tool() -> None:
    """Other OpenAI-compatible servers (vLLM, Ollama, llama-server) have no web search."""
    assert OpenAICompatibleLLM(
        base_url="https://api.openai.com/v1", model="m"
    ).capabilities.web_search
    assert not OpenAICompatibleLLM(
        base_url="http://127.0.0.1:8080/v1", model="m"
    ).capabilities.web_search


def test_dated_model_ids_are_priced_like_their_family() -> None:
    assert family("gpt-4.1-mini-2025-04-14") == "gpt-4.1-mini"
    assert family("gpt-5-mini-2025-08-07") == "gpt-5-mini"
    assert family("gpt-4o-2024-08-06") == "gpt-4o"
    assert price_for("gpt-4o-mini-2024-07-18") == price_for("gpt-4o-mini") is not None
    assert price_for("llama-3.1-8b-instruct") is None
