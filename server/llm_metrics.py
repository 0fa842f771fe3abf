"""Metrics for every LLM call the pipelines make, by wrapping the models wiring hands them.

`InstrumentedRegistry(registry, metrics)` gives, for each role, the same model wrapped in
`InstrumentedLLM`, which passes every event through unchanged and records: time to first text,
call duration and outcome, tokens in/out and cost (from the `Completed` result), the longest
queue wait the provider reported, and retries; with tracing on (server/tracing.py), each call
is also one span. The pipelines stay unaware of metrics (agents/ imports nothing of server/).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from agents.llm.port import (
    LLM,
    Completed,
    CompletionRequest,
    ForwardingLLM,
    LLMEvent,
    LLMRegistry,
    QueueWait,
    RetryScheduled,
    Role,
    TextDelta,
)
from server.metrics import Metrics
from server.tracing import NO_TRACING, Tracing


class InstrumentedLLM(ForwardingLLM):
    """An LLM that records metrics about each call of the model it wraps."""

    def __init__(self, inner: LLM, metrics: Metrics, tracing: Tracing = NO_TRACING) -> None:
        self.inner = inner
        self._metrics = metrics
        self._tracing = tracing

    def __getattr__(self, name: str) -> Any:
        # Provider-specific extras (aclose, cache controls) stay reachable through the wrapper.
        return getattr(self.inner, name)

    async def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        provider, model = self.provider, self.model
        started = time.perf_counter()
        first_text = False
        queue_wait = 0.0
        outcome = "error"
        failure: BaseException | None = None
        span = self._tracing.llm_call(provider, model, request)
        try:
            async for event in self.inner.stream(request):
                if isinstance(event, TextDelta) and not first_text:
                    first_text = True
                    self._metrics.llm_first_token(provider, model, time.perf_counter() - started)
                elif isinstance(event, QueueWait):
                    queue_wait = max(queue_wait, event.waited_seconds)
                    span.waited(event.waited_seconds)
                elif isinstance(event, RetryScheduled):
                    self._metrics.llm_retried(provider, model)
                    span.retried()
                elif isinstance(event, Completed):
                    outcome = "ok"
                    result = event.result
                    span.completed(result)
                    self._metrics.llm_usage(
                        provider,
                        result.model or model,
                        input_tokens=result.usage.input_tokens,
                        output_tokens=result.usage.output_tokens,
                        cost_usd=result.cost_usd,
                    )
                yield event
        except BaseException as exc:
            outcome = "cancelled" if isinstance(exc, GeneratorExit) else "error"
            failure = exc
            raise
        finally:
            span.end(outcome, failure)
            if queue_wait:
                self._metrics.llm_queue_wait(provider, model, queue_wait)
            self._metrics.llm_call_finished(provider, model, outcome, time.perf_counter() - started)


class InstrumentedRegistry:
    """An LLMRegistry whose models record metrics; `aclose()` closes the wrapped registry."""

    def __init__(self, inner: LLMRegistry, metrics: Metrics, tracing: Tracing = NO_TRACING) -> None:
        self._inner = inner
        self._metrics = metrics
        self._tracing = tracing
        self._wrapped: dict[int, InstrumentedLLM] = {}

    def for_role(self, role: Role) -> LLM:
        llm = self._inner.for_role(role)
        wrapped = self._wrapped.get(id(llm))
        if wrapped is None or wrapped.inner is not llm:
            wrapped = InstrumentedLLM(llm, self._metrics, self._tracing)
            self._wrapped[id(llm)] = wrapped
        return wrapped

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
