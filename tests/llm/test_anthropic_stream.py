"""The Anthropic provider against a loopback peer speaking the Messages SSE wire format."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from agents.llm.anthropic_api import AnthropicLLM
from agents.llm.errors import (
    LLMAuthenticationError,
    LLMOverloadedError,
    LLMRetriesExhaustedError,
    LLMStructuredOutputError,
    LLMTimeoutError,
)
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
from agents.llm.retry import RetryPolicy
from tests.llm.anthropic_peer import (
    AnthropicPeer,
    Reply,
    error_body,
    error_event,
    message_end,
    message_start,
    text_block,
    tool_use_block,
    web_search_blocks,
)

pytestmark = [pytest.mark.anyio, pytest.mark.allow_model_requests]

SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "score": {"type": "integer"}},
    "required": ["title", "score"],
    "additionalProperties": False,
}


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
async def peer() -> AsyncIterator[AnthropicPeer]:
    async with AnthropicPeer() as p:
        yield p


def make_llm(
    peer: AnthropicPeer, sleep: RecordingSleep | None = None, attempts: int = 3
) -> AnthropicLLM:
    policy = RetryPolicy(max_attempts=attempts, base_delay=0.5, sleep=sleep or RecordingSleep())
    return AnthropicLLM(api_key="sk-test", base_url=peer.base_url, retry=policy, timeout=30)


def ask(text: str = "Hello", **kw: object) -> CompletionRequest:
    return CompletionRequest(system="You are terse.", messages=[Message("user", text)], **kw)  # type: ignore[arg-type]


async def drain(llm: AnthropicLLM, request: CompletionRequest, into: list[LLMEvent]) -> None:
    async for event in llm.stream(request):
        into.append(event)


async def collect(llm: AnthropicLLM, request: CompletionRequest) -> list[LLMEvent]:
    return [event async for event in llm.stream(request)]


async def test_streams_text_deltas_then_one_result_with_usage_and_cost(peer: AnthropicPeer) -> None:
    """Text deltas arrive in order, then one Completed with usage incl. cache tokens and a cost."""
    peer.enqueue(
        Reply(
            events=[
                message_start(
                    input_tokens=1000, cache_read_input_tokens=400, cache_creation_input_tokens=200
                ),
                *text_block(0, "Hel", "lo ", "there"),
                *message_end(output_tokens=3000),
            ]
        )
    )
    events = await collect(make_llm(peer), ask())
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert deltas == ["Hel", "lo ", "there"]
    assert isinstance(events[-1], Completed)
    result = events[-1].result
    assert result.text == "Hello there"
    assert result.stop_reason == "end_turn"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (1000, 3000)
    assert (result.usage.cache_read_tokens, result.usage.cache_write_tokens) == (400, 200)
    # sonnet 4.6: 3 $/MTok in, 15 out, cache write 3.75, cache read 0.30
    expected = (1000 * 3 + 3000 * 15 + 200 * 3.75 + 400 * 0.3) / 1e6
    assert result.cost_usd == pytest.approx(expected)
    sent = peer.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.body["stream"] is True
    assert "sk-test" in (sent.headers.get("x-api-key", "") + sent.headers.get("authorization", ""))
    assert sent.body["system"] == "You are terse."


async def test_cache_system_marks_the_system_prompt_cacheable(peer: AnthropicPeer) -> None:
    """cache_system sends the system prompt as a block with cache_control ephemeral."""
    peer.enqueue(Reply(events=[message_start(), *text_block(0, "ok"), *message_end()]))
    await complete(make_llm(peer), ask(cache_system=True))
    system = peer.requests[0].body["system"]
    assert system == [
        {"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}
    ]


async def test_structured_output_is_a_forced_tool_call_validated_against_the_schema(
    peer: AnthropicPeer,
) -> None:
    """The schema goes out as a forced tool; the tool's streamed input is the result."""
    peer.enqueue(
        Reply(
            events=[
                message_start(),
                *tool_use_block(0, "verdict", '{"title": "Q', 'ubitz", "score": ', "7}"),
                *message_end(stop_reason="tool_use"),
            ]
        )
    )
    result = await complete(make_llm(peer), ask(json_schema=SCHEMA, schema_name="verdict"))
    assert result.structured == {"title": "Qubitz", "score": 7}
    assert result.stop_reason == "tool_use"
    body = peer.requests[0].body
    assert body["tool_choice"] == {"type": "tool", "name": "verdict"}
    assert body["tools"][0]["input_schema"] == SCHEMA


async def test_structured_output_not_matching_the_schema_is_refused(peer: AnthropicPeer) -> None:
    """A tool input that violates the schema raises LLMStructuredOutputError with the raw JSON."""
    peer.enqueue(
        Reply(
            events=[message_start(), *tool_use_block(0, "result", '{"title": 5}'), *message_end()]
        )
    )
    with pytest.raises(LLMStructuredOutputError) as info:
        await complete(make_llm(peer), ask(json_schema=SCHEMA))
    assert '"title": 5' in info.value.raw


async def test_web_search_is_reported_as_events_and_sources(peer: AnthropicPeer) -> None:
    """server_tool_use + web_search_tool_result blocks become WebSearchPerformed and sources."""
    peer.enqueue(
        Reply(
            events=[
                message_start(),
                *web_search_blocks(
                    0,
                    "qubitz release date",
                    [("https://example.com/a", "Page A"), ("https://example.com/b", "Page B")],
                ),
                *text_block(2, "It shipped in May."),
                *message_end(web_search_requests=1),
            ]
        )
    )
    events = await collect(make_llm(peer), ask(web_search=WebSearchOptions(max_uses=3)))
    searches = [e for e in events if isinstance(e, WebSearchPerformed)]
    assert len(searches) == 1
    assert searches[0].query == "qubitz release date"
    assert [h.url for h in searches[0].results] == [
        "https://example.com/a",
        "https://example.com/b",
    ]
    # the search query's input_json_delta is not text
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["It shipped in May."]
    result = events[-1].result  # type: ignore[union-attr]
    assert result.searches == ("qubitz release date",)
    assert {s.url for s in result.sources} == {"https://example.com/a", "https://example.com/b"}
    assert result.text == "It shipped in May."
    tool = peer.requests[0].body["tools"][0]
    assert tool == {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}


async def test_429_with_retry_after_is_retried_after_that_delay(peer: AnthropicPeer) -> None:
    """A 429 with retry-after schedules one retry (a RetryScheduled event) of exactly that delay."""
    sleep = RecordingSleep()
    peer.enqueue(
        Reply(
            status=429,
            headers={"retry-after": "7"},
            body=error_body("rate_limit_error", "slow down"),
        ),
        Reply(events=[message_start(), *text_block(0, "fine"), *message_end()]),
    )
    events = await collect(make_llm(peer, sleep), ask())
    retries = [e for e in events if isinstance(e, RetryScheduled)]
    assert len(retries) == 1
    assert retries[0].attempt == 1
    assert retries[0].delay == 7.0
    assert "429" in retries[0].reason
    assert sleep.delays == [7.0]
    assert events[-1].result.text == "fine"  # type: ignore[union-attr]
    assert len(peer.requests) == 2


async def test_529_overloaded_retries_are_bounded_then_exhausted(peer: AnthropicPeer) -> None:
    """Repeated 529s are retried up to max_attempts, then exhausted (last=overloaded)."""
    sleep = RecordingSleep()
    for _ in range(3):
        peer.enqueue(Reply(status=529, body=error_body("overloaded_error", "Overloaded")))
    events: list[LLMEvent] = []
    with pytest.raises(LLMRetriesExhaustedError) as info:
        await drain(make_llm(peer, sleep, attempts=3), ask(), events)
    assert isinstance(info.value.last, LLMOverloadedError)
    assert info.value.attempts == 3
    assert [e.attempt for e in events if isinstance(e, RetryScheduled)] == [1, 2]
    assert len(sleep.delays) == 2
    assert sleep.delays[1] > sleep.delays[0]  # exponential backoff
    assert len(peer.requests) == 3


async def test_overloaded_error_event_inside_the_stream_is_retried(peer: AnthropicPeer) -> None:
    """An SSE `error` event (overloaded_error) before any output is retried like a 529."""
    peer.enqueue(
        Reply(events=[message_start(), error_event("overloaded_error", "Overloaded")]),
        Reply(events=[message_start(), *text_block(0, "second try"), *message_end()]),
    )
    events = await collect(make_llm(peer), ask())
    assert any(isinstance(e, RetryScheduled) for e in events)
    assert events[-1].result.text == "second try"  # type: ignore[union-attr]


async def test_error_after_streamed_output_is_not_replayed(peer: AnthropicPeer) -> None:
    """An error after text was delivered raises as it is (no retry that would duplicate text)."""
    peer.enqueue(
        Reply(
            events=[
                message_start(),
                *text_block(0, "partial")[:3],
                error_event("overloaded_error", "Overloaded"),
            ]
        )
    )
    seen: list[LLMEvent] = []
    with pytest.raises(LLMOverloadedError):
        await drain(make_llm(peer), ask(), seen)
    assert [e for e in seen if isinstance(e, TextDelta)] == [TextDelta("partial")]
    assert len(peer.requests) == 1


async def test_authentication_error_is_not_retried(peer: AnthropicPeer) -> None:
    """A 401 is translated to LLMAuthenticationError and never retried."""
    peer.enqueue(Reply(status=401, body=error_body("authentication_error", "invalid x-api-key")))
    with pytest.raises(LLMAuthenticationError) as info:
        await complete(make_llm(peer), ask())
    assert info.value.status_code == 401
    assert len(peer.requests) == 1


async def test_cancelling_the_consumer_closes_the_providers_stream(peer: AnthropicPeer) -> None:
    """Cancelling the task reading the stream disconnects from the server before it finished."""
    chunks = [f"w{i} " for i in range(200)]
    peer.enqueue(
        Reply(events=[message_start(), *text_block(0, *chunks), *message_end()], pace=0.02)
    )
    got_two = asyncio.Event()
    received: list[str] = []

    async def consume() -> None:
        async for event in make_llm(peer).stream(ask()):
            if isinstance(event, TextDelta):
                received.append(event.text)
                if len(received) == 2:
                    got_two.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_two.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(peer.client_gone.wait(), 10)
    assert not peer.stream_finished.is_set()
    assert peer.events_sent < 200


async def test_an_attempt_past_its_timeout_raises_a_timeout_error(peer: AnthropicPeer) -> None:
    """A stream slower than request.timeout ends with LLMTimeoutError (one attempt allowed)."""
    peer.enqueue(
        Reply(events=[message_start(), *text_block(0, "a", "b", "c"), *message_end()], pace=5)
    )
    with pytest.raises(LLMTimeoutError):
        await complete(make_llm(peer, attempts=1), ask(timeout=0.5))
