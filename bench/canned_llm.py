"""A model with no I/O for the benches that time what wraps a model call (budget, tracing)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from agents.llm.port import (
    Capabilities,
    Completed,
    CompletionRequest,
    CompletionResult,
    LLMEvent,
    Message,
    TextDelta,
    Usage,
)

REQUEST = CompletionRequest(system="s", messages=(Message("user", "q"),), max_tokens=64)


class CannedLLM:
    """Streams `events` deltas of `delta` and one result (10 input tokens, `output_tokens`
    output tokens, one per delta unless given), without awaiting anything."""

    provider = "bench"
    model = "canned"
    capabilities = Capabilities()

    def __init__(self, events: int = 1, *, delta: str = "token ", output_tokens: int | None = None):
        self.events = events
        self.delta = delta
        self.output_tokens = events if output_tokens is None else output_tokens

    async def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        for _ in range(self.events):
            yield TextDelta(self.delta)
        usage = Usage(10, self.output_tokens)
        yield Completed(CompletionResult(self.delta * self.events, usage, "end_turn", self.model))
