"""A request's temperature reaches the Messages API in the request body (the SDK's `stream()`
has no `temperature` argument any more, so passing it as one failed every such call)."""

from __future__ import annotations

import pytest

from agents.llm.anthropic_api import AnthropicLLM
from agents.llm.port import Completed, CompletionRequest, Message
from agents.llm.retry import RetryPolicy
from tests.llm.anthropic_peer import AnthropicPeer, Reply, message_end, message_start, text_block

pytestmark = [pytest.mark.anyio, pytest.mark.allow_model_requests]


async def test_temperature_is_sent_in_the_body() -> None:
    async with AnthropicPeer() as peer:
        peer.enqueue(Reply(events=[message_start(), *text_block(0, "cool"), *message_end()]))
        llm = AnthropicLLM(
            api_key="sk-test", base_url=peer.base_url, retry=RetryPolicy(max_attempts=1)
        )
        request = CompletionRequest(
            system="s", messages=[Message("user", "hi")], temperature=0.0, max_tokens=20
        )
        events = [e async for e in llm.stream(request)]
    assert isinstance(events[-1], Completed) and events[-1].result.text == "cool"
    assert peer.requests[0].body["temperature"] == 0.0
