"""The one interface every pipeline uses to talk to a model.

A call is `llm.stream(request)`: an async iterator of `LLMEvent`s that always ends with exactly one
`Completed` (or raises an `LLMError`). Retries happen inside the provider; each scheduled retry is
visible as a `RetryScheduled` event so the pipeline can report it. Cancelling the consuming task
stops the provider's stream (providers release it in `finally`).

`complete()` and `structured()` drain the stream for callers that do not stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol, runtime_checkable


class Role(StrEnum):
    """What a model is used for; each role can have its own provider and model."""

    PLANNER = "planner"
    RESEARCHER = "researcher"
    WRITER = "writer"
    ANALYST = "analyst"
    CHAT = "chat"
    ARCHITECT = "architect"


@dataclass(frozen=True)
class Message:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class WebSearchOptions:
    """Ask for the provider's server-side web search tool (where the provider has one)."""

    max_uses: int = 5
    allowed_domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class CompletionRequest:
    system: str
    messages: Sequence[Message]
    max_tokens: int = 2048
    temperature: float | None = None
    # Structured output: when set, the final result's `structured` holds a dict valid against it.
    json_schema: Mapping[str, Any] | None = None
    schema_name: str = "result"
    web_search: WebSearchOptions | None = None
    # Mark the system prompt (e.g. a long report) as cacheable where the provider supports it.
    cache_system: bool = False
    timeout: float | None = None
    stop: Sequence[str] = ()


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
        )


@dataclass(frozen=True)
class SearchHit:
    url: str
    title: str
    snippet: str = ""


@dataclass(frozen=True)
class CompletionResult:
    text: str
    usage: Usage
    stop_reason: str
    model: str
    structured: dict[str, Any] | None = None
    cost_usd: float | None = None
    searches: tuple[str, ...] = ()
    sources: tuple[SearchHit, ...] = ()


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class RetryScheduled:
    attempt: int  # the attempt that failed, 1-based
    delay: float  # seconds until the next attempt
    reason: str


@dataclass(frozen=True)
class QueueWait:
    """The local model is busy with other generations; this one waits its turn."""

    position: int
    waited_seconds: float


@dataclass(frozen=True)
class WebSearchPerformed:
    query: str
    results: tuple[SearchHit, ...]


@dataclass(frozen=True)
class Completed:
    result: CompletionResult


LLMEvent = TextDelta | RetryScheduled | QueueWait | WebSearchPerformed | Completed


@dataclass(frozen=True)
class Capabilities:
    web_search: bool = False
    structured_output: Literal["tool", "json_schema", "grammar", "prompt"] = "prompt"
    context_window: int = 8192
    prompt_caching: bool = False


@runtime_checkable
class LLM(Protocol):
    @property
    def provider(self) -> str: ...

    @property
    def model(self) -> str: ...

    @property
    def capabilities(self) -> Capabilities: ...

    def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]: ...


class ForwardingLLM:
    """Base of LLM wrappers (metrics, benchmarks): identity and capabilities are `inner`'s.

    A subclass sets `inner` and overrides `stream`.
    """

    inner: LLM

    @property
    def provider(self) -> str:
        return self.inner.provider

    @property
    def model(self) -> str:
        return self.inner.model

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities


class LLMRegistry(Protocol):
    """Gives the LLM configured for a role."""

    def for_role(self, role: Role) -> LLM: ...


@dataclass
class StaticRegistry:
    """An LLMRegistry with one LLM per role (or one default for all)."""

    default: LLM
    by_role: dict[Role, LLM] = field(default_factory=dict)

    def for_role(self, role: Role) -> LLM:
        return self.by_role.get(role, self.default)


async def complete(
    llm: LLM,
    request: CompletionRequest,
    on_event: Callable[[LLMEvent], None] | None = None,
) -> CompletionResult:
    """Drain a stream and return its final result (events are passed to `on_event`)."""
    result: CompletionResult | None = None
    async for event in llm.stream(request):
        if on_event is not None:
            on_event(event)
        if isinstance(event, Completed):
            result = event.result
    if result is None:
        from agents.llm.errors import LLMError

        raise LLMError("the provider's stream ended without a result", provider=llm.provider)
    return result


async def structured(
    llm: LLM,
    request: CompletionRequest,
    on_event: Callable[[LLMEvent], None] | None = None,
) -> dict[str, Any]:
    """Drain a stream for a request with `json_schema` and return its validated object."""
    result = await complete(llm, request, on_event)
    if result.structured is None:
        from agents.llm.errors import LLMStructuredOutputError

        raise LLMStructuredOutputError(
            "the provider returned no structured output", provider=llm.provider, raw=result.text
        )
    return result.structured
