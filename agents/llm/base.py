"""What every provider shares: its identity, capabilities, and `stream()` as attempts run under
the one retry policy. A provider sets the attributes and implements `_attempt`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar

from agents.llm.port import Capabilities, CompletionRequest, LLMEvent
from agents.llm.retry import RetryPolicy, retrying_stream


class RetryingProvider:
    PROVIDER: ClassVar[str]
    _model: str
    _capabilities: Capabilities
    _retry: RetryPolicy
    _timeout: float | None

    @property
    def provider(self) -> str:
        return self.PROVIDER

    @property
    def model(self) -> str:
        return self._model

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def _timeout_for(self, request: CompletionRequest) -> float | None:
        return request.timeout if request.timeout is not None else self._timeout

    def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        return retrying_stream(
            lambda: self._attempt(request),
            policy=self._retry,
            attempt_timeout=self._timeout_for(request),
            provider=self.PROVIDER,
        )

    def _attempt(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        """One try: the provider's stream, its errors translated to agents.llm.errors."""
        raise NotImplementedError
