"""The Bedrock provider (boto3 ConverseStream) against a loopback AWS event-stream peer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agents.llm.bedrock import BedrockLLM
from agents.llm.errors import (
    LLMAuthenticationError,
    LLMRateLimitError,
    LLMRetriesExhaustedError,
    LLMServerError,
)
from agents.llm.port import (
    Completed,
    CompletionRequest,
    Message,
    RetryScheduled,
    TextDelta,
    complete,
)
from agents.llm.retry import RetryPolicy
from tests.llm.bedrock_peer import BedrockPeer, Reply, event, exception, text_reply, tool_reply

pytestmark = [pytest.mark.anyio, pytest.mark.allow_model_requests]

MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"
SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "tags"],
}


@pytest.fixture
async def peer() -> AsyncIterator[BedrockPeer]:
    async with BedrockPeer() as p:
        yield p


def make_llm(peer: BedrockPeer, delays: list[float] | None = None, attempts: int = 3) -> BedrockLLM:
    sink = delays if delays is not None else []

    async def sleep(d: float) -> None:
        sink.append(d)

    return BedrockLLM(
        model=MODEL,
        region="us-east-1",
        endpoint_url=peer.endpoint_url,
        aws_access_key_id="AKIDLOOPBACK",
        aws_secret_access_key="secret",
        retry=RetryPolicy(max_attempts=attempts, sleep=sleep),
        timeout=30,
    )


def ask(**kw: object) -> CompletionRequest:
    return CompletionRequest(system="Be brief.", messages=[Message("user", "Hi")], **kw)  # type: ignore[arg-type]


async def test_streams_text_then_a_result_with_usage_and_cost(peer: BedrockPeer) -> None:
    """contentBlockDelta texts stream in order; metadata usage and a priced cost end the stream."""
    peer.replies.append(text_reply("Hel", "lo", input_tokens=1000, output_tokens=2000))
    events = [e async for e in make_llm(peer).stream(ask(cache_system=True))]
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hel", "lo"]
    final = events[-1]
    assert isinstance(final, Completed)
    assert final.result.text == "Hello"
    assert final.result.stop_reason == "end_turn"
    assert (final.result.usage.input_tokens, final.result.usage.output_tokens) == (1000, 2000)
    assert final.result.cost_usd == pytest.approx((1000 * 3 + 2000 * 15) / 1e6)
    sent = peer.requests[0]
    assert sent.path.startswith("/model/anthropic.claude-sonnet-4-5-20250929-v1")
    assert sent.path.endswith("/converse-stream")
    assert sent.body["system"] == [{"text": "Be brief."}, {"cachePoint": {"type": "default"}}]
    assert sent.body["inferenceConfig"] == {"maxTokens": 2048}


async def test_structured_output_is_a_forced_tool_call(peer: BedrockPeer) -> None:
    """The schema is sent as a tool with toolChoice; the streamed toolUse input is validated."""
    peer.replies.append(tool_reply("result", '{"name": "qu', 'bitz", "tags": ["a"]}'))
    result = await complete(make_llm(peer), ask(json_schema=SCHEMA))
    assert result.structured == {"name": "qubitz", "tags": ["a"]}
    tool_config = peer.requests[0].body["toolConfig"]
    assert tool_config["toolChoice"] == {"tool": {"name": "result"}}
    assert tool_config["tools"][0]["toolSpec"]["inputSchema"]["json"] == SCHEMA


async def test_throttling_is_retried_with_a_retry_event(peer: BedrockPeer) -> None:
    """A 429 ThrottlingException schedules a retry; the second attempt's answer is returned."""
    delays: list[float] = []
    peer.replies.extend([Reply(status=429, error_code="ThrottlingException"), text_reply("ok")])
    events = [e async for e in make_llm(peer, delays).stream(ask())]
    retries = [e for e in events if isinstance(e, RetryScheduled)]
    assert len(retries) == 1
    assert "RateLimit" in retries[0].reason
    assert len(delays) == 1
    assert events[-1].result.text == "ok"  # type: ignore[union-attr]


async def test_in_stream_exception_before_output_is_retried_then_exhausted(
    peer: BedrockPeer,
) -> None:
    """An event-stream internalServerException is a retryable server error, bounded."""
    broken = Reply(
        messages=[
            event("messageStart", {"role": "assistant"}),
            exception("internalServerException", "boom"),
        ]
    )
    peer.replies.extend([broken, broken])
    with pytest.raises(LLMRetriesExhaustedError) as info:
        await complete(make_llm(peer, attempts=2), ask())
    assert isinstance(info.value.last, LLMServerError)
    assert len(peer.requests) == 2


async def test_access_denied_is_an_authentication_error(peer: BedrockPeer) -> None:
    """403 AccessDeniedException is not retried."""
    peer.replies.append(Reply(status=403, error_code="AccessDeniedException"))
    with pytest.raises(LLMAuthenticationError):
        await complete(make_llm(peer), ask())
    assert len(peer.requests) == 1


async def test_throttling_past_the_budget_keeps_the_cause(peer: BedrockPeer) -> None:
    """With one attempt allowed the translated error itself is raised."""
    peer.replies.append(Reply(status=429, error_code="ThrottlingException"))
    with pytest.raises(LLMRateLimitError):
        await complete(make_llm(peer, attempts=1), ask())
